"""A provider behind a private CA (scripts/idp.py --tls: glewlwyd over HTTPS with a
certificate from a CA made for the test): OIDC_CA_FILE, which the Helm chart's
auth.oidc.caConfigMap sets, makes Corral trust it for the OIDC calls; without it the
certificate is refused and the sign-in says the provider is unavailable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from idp import ADMIN_GROUP, Idp, callback_from_idp, idp_login_api, idp_script
from ui.conftest import AgentServer

from app.settings import SettingsError, load_settings

pytestmark = [pytest.mark.bwrap]


@pytest.fixture(scope="module")
def tls_idp(idp: Idp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Idp]:
    """A second provider, over HTTPS (`idp` first: it skips when glewlwyd is missing)."""
    state = tmp_path_factory.mktemp("idp-tls")
    provider = idp_script.start(state, ["http://127.0.0.1/api/auth/oidc/callback"], tls=True)
    yield provider
    idp_script.stop(state)


def oidc_env(idp: Idp, workdir: Path, **extra: str) -> dict[str, str]:
    secret = workdir / "oidc-client-secret"
    secret.touch(mode=0o600)
    secret.write_text(idp.client_secret)
    return {"AUTH_MODE": "oidc", "OIDC_ISSUER": idp.issuer,
            "OIDC_CLIENT_ID": idp_script.CLIENT_ID, "OIDC_CLIENT_SECRET_FILE": str(secret),
            "ADMIN_GROUPS": ADMIN_GROUP, **extra}


def app_client(server: AgentServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30, follow_redirects=False)


def test_oidc_ca_file_trusts_the_private_ca(tls_idp, tmp_path):
    assert tls_idp.issuer.startswith("https://127.0.0.1:")
    env = oidc_env(tls_idp, tmp_path, OIDC_CA_FILE=tls_idp.ca_file)
    with AgentServer(tmp_path, **env) as server:
        idp_script.set_redirect_uris(tls_idp, [f"{server.url}/api/auth/oidc/callback"])
        with app_client(server) as app, idp_login_api(tls_idp, "bob") as at_idp:
            back = app.get(callback_from_idp(app, at_idp))
            assert back.status_code == 302 and back.headers["location"] == "/", back.text
            me = app.get("/api/auth/me").json()
            assert (me["username"], me["role"], me["source"]) == ("bob", "admin", "oidc")


def test_without_it_the_certificate_is_refused(tls_idp, tmp_path):
    with AgentServer(tmp_path, **oidc_env(tls_idp, tmp_path)) as server:
        with app_client(server) as app:
            answer = app.get("/api/auth/oidc/login")
        assert answer.status_code == 302, answer.text
        assert answer.headers["location"] == "/?auth_error=oidc_unavailable"
        assert "CERTIFICATE_VERIFY_FAILED" in server.log()


@pytest.mark.parametrize("content", [None, "not a certificate\n"], ids=["missing", "not-pem"])
def test_an_unreadable_ca_file_is_refused_at_start_up(monkeypatch, tmp_path, content):
    ca = tmp_path / "ca.pem"
    if content is not None:
        ca.write_text(content)
    for name, value in {"AUTH_MODE": "oidc", "OIDC_ISSUER": "https://idp.example.com",
                        "OIDC_CLIENT_ID": "corral", "OIDC_CLIENT_SECRET": "secret",
                        "OIDC_CA_FILE": str(ca)}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match="OIDC_CA_FILE is not a readable PEM file"):
        load_settings()

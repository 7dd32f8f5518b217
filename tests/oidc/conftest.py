"""OIDC fixtures: one real identity provider for the whole session (tests/oidc/idp.py),
an agent server per module signing in against it, and the real-browser fixtures of the
UI suite."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from idp import ADMIN_GROUP, ANALYST_GROUP, Idp, idp_script
from ui.conftest import AgentServer, browser, context  # noqa: F401  (fixtures, reused)


@pytest.fixture(scope="session")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Idp]:
    if not Path(idp_script.GLEWLWYD).exists():
        pytest.skip("glewlwyd is not installed: apt-get install -y --no-install-recommends "
                    "glewlwyd")
    state = tmp_path_factory.mktemp("idp")
    began = time.monotonic()
    # The agent servers register their own callback once they know their port.
    provider = idp_script.start(state, ["http://127.0.0.1/api/auth/oidc/callback"])
    print(f"\nidentity provider {provider.issuer} up in {time.monotonic() - began:.2f} s")
    yield provider
    idp_script.stop(state)


def oidc_env(idp: Idp, workdir: Path, **extra: str) -> dict[str, str]:
    secret = workdir / "oidc-client-secret"
    secret.write_text(idp.client_secret)
    secret.chmod(0o600)
    return {"AUTH_MODE": "local,oidc", "OIDC_ISSUER": idp.issuer,
            "OIDC_CLIENT_ID": idp_script.CLIENT_ID, "OIDC_CLIENT_SECRET_FILE": str(secret),
            "ADMIN_GROUPS": ADMIN_GROUP, "ALLOWED_GROUPS": f"{ANALYST_GROUP},{ADMIN_GROUP}",
            **extra}


@pytest.fixture(scope="module")
def oidc_server(idp: Idp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentServer]:
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed: apt-get install -y bubblewrap")
    workdir = tmp_path_factory.mktemp("oidc-agent")
    with AgentServer(workdir, **oidc_env(idp, workdir)) as server:
        idp_script.set_redirect_uris(idp, [f"{server.url}/api/auth/oidc/callback"])
        yield server

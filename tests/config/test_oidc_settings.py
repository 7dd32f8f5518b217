"""The OIDC_* settings: checked at start-up when AUTH_MODE includes oidc, each refusal
naming its variable; the client secret can come from a file and never appears in the
error text."""

from __future__ import annotations

import pytest

from app.settings import SettingsError, load_settings

GOOD = {"AUTH_MODE": "local,oidc", "OIDC_ISSUER": "https://idp.example.com/realms/corp",
        "OIDC_CLIENT_ID": "corral", "OIDC_CLIENT_SECRET": "s3cret-value"}


@pytest.fixture(autouse=True)
def oidc_env(monkeypatch):
    for name in ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET",
                 "OIDC_CLIENT_SECRET_FILE", "OIDC_SCOPES", "OIDC_GROUPS_CLAIM",
                 "OIDC_REDIRECT_URL", "AUTH_MODE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)


def refused(monkeypatch, name: str, value: str | None) -> str:
    if value is None:
        monkeypatch.delenv(name)
    else:
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as exc:
        load_settings()
    return str(exc.value)


def test_a_complete_configuration_is_accepted():
    settings = load_settings()
    assert settings.auth_modes == ["local", "oidc"]
    assert settings.oidc_issuer == GOOD["OIDC_ISSUER"]


@pytest.mark.parametrize("name", ["OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"])
def test_each_required_variable_is_named_when_missing(monkeypatch, name):
    assert name in refused(monkeypatch, name, None)


@pytest.mark.parametrize(("name", "value", "why"), [
    ("OIDC_ISSUER", "idp.example.com", "absolute URL"),
    ("OIDC_ISSUER", "ftp://idp.example.com", "absolute URL"),
    ("OIDC_ISSUER", "http://idp.example.com", "plain http is accepted only for a loopback"),
    ("OIDC_ISSUER", "https://idp.example.com/?tenant=1", "without ?query"),
    ("OIDC_REDIRECT_URL", "/api/auth/oidc/callback", "absolute URL"),
    ("OIDC_CLIENT_ID", "my client", "printable ASCII"),
    ("OIDC_SCOPES", "profile email", "includes openid"),
    ("OIDC_GROUPS_CLAIM", "my groups", "claim name"),
])
def test_a_bad_value_names_the_variable(monkeypatch, name, value, why):
    message = refused(monkeypatch, name, value)
    assert name in message and why in message


def test_loopback_http_is_accepted_for_a_local_provider(monkeypatch):
    monkeypatch.setenv("OIDC_ISSUER", "http://127.0.0.1:4593/api/oidc")
    assert load_settings().oidc_issuer == "http://127.0.0.1:4593/api/oidc"


def test_the_secret_can_come_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-the-file\n")
    monkeypatch.delenv("OIDC_CLIENT_SECRET")
    monkeypatch.setenv("OIDC_CLIENT_SECRET_FILE", str(secret))
    assert load_settings().oidc_client_secret == "from-the-file"
    monkeypatch.setenv("OIDC_CLIENT_SECRET_FILE", str(tmp_path / "missing"))
    assert "OIDC_CLIENT_SECRET_FILE cannot be read" in str(
        pytest.raises(SettingsError, load_settings).value)


def test_no_error_message_shows_the_secret(monkeypatch):
    message = refused(monkeypatch, "OIDC_CLIENT_ID", None)
    assert GOOD["OIDC_CLIENT_SECRET"] not in message


def test_without_oidc_in_auth_mode_nothing_is_required(monkeypatch):
    monkeypatch.setenv("AUTH_MODE", "local")
    monkeypatch.delenv("OIDC_ISSUER")
    monkeypatch.delenv("OIDC_CLIENT_SECRET")
    assert load_settings().auth_modes == ["local"]

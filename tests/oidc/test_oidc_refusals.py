"""Refused OpenID Connect sign-ins. Against the real provider (glewlwyd): a callback
with no state, a wrong state, a replayed state, no login cookie, a provider error, and
a real ID token checked with the wrong nonce or for another client. With crafted ID
tokens: a forged signature, expired, wrong audience, wrong issuer, `alg: none`, HMAC
keyed with the client secret, nonce mismatch, no subject. A real provider does not
sign bad tokens on request, so those are made here with joserfc, signed with the
provider's own key (scripts/idp.py keeps it) so that only the claim under test is wrong,
and checked by `Provider.verify_id_token`, the very function the callback calls."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from idp import Idp, callback_from_idp, idp_login_api, idp_script
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from app.auth import sessions
from app.auth.oidc import OidcError, Provider
from app.settings import load_settings
from app.storage import make_engine, sqlalchemy_url, utcnow

pytestmark = [pytest.mark.bwrap]


def app_client(server) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30, follow_redirects=False)


def refused_with(answer: httpx.Response, code: str) -> None:
    assert answer.status_code == 302, answer.text
    assert answer.headers["location"] == f"/?auth_error={code}"
    assert "corral_session" not in answer.cookies


# --- the callback, against the real provider ----------------------------------------


def test_a_callback_without_state_is_refused(oidc_server):
    with app_client(oidc_server) as app:
        app.get("/api/auth/oidc/login")
        refused_with(app.get("/api/auth/oidc/callback", params={"code": "x"}), "oidc_state")
        assert app.get("/api/auth/me").status_code == 401


def test_a_callback_with_another_state_is_refused(oidc_server, idp):
    with app_client(oidc_server) as app, idp_login_api(idp, "alice") as at_idp:
        url = callback_from_idp(app, at_idp)
        query = parse_qs(urlsplit(url).query)
        forged = {"state": "not-" + query["state"][0], "code": query["code"][0]}
        refused_with(app.get("/api/auth/oidc/callback", params=forged), "oidc_state")


def test_a_callback_in_another_browser_is_refused(oidc_server, idp):
    """Login CSRF: a callback URL made for one browser, opened in another."""
    with app_client(oidc_server) as app, idp_login_api(idp, "alice") as at_idp:
        url = callback_from_idp(app, at_idp)
    with app_client(oidc_server) as victim:
        refused_with(victim.get(url), "oidc_state")


def test_a_replayed_state_is_refused(oidc_server, idp):
    with app_client(oidc_server) as app, idp_login_api(idp, "alice") as at_idp:
        url = callback_from_idp(app, at_idp)
        login_cookie = app.cookies["corral_oidc"]
        first = app.get(url)
        assert first.status_code == 302 and first.headers["location"] == "/", first.text
        assert app.get("/api/auth/me").json()["username"] == "alice"
    with app_client(oidc_server) as replay:
        replay.cookies.set("corral_oidc", login_cookie, path="/api/auth/oidc")
        refused_with(replay.get(url), "oidc_state")


def test_an_error_from_the_provider_is_refused(oidc_server, idp):
    with app_client(oidc_server) as app:
        to_idp = app.get("/api/auth/oidc/login")
        state = parse_qs(urlsplit(to_idp.headers["location"]).query)["state"][0]
        answer = app.get("/api/auth/oidc/callback",
                         params={"state": state, "error": "access_denied"})
        refused_with(answer, "oidc_denied")


def test_login_sends_pkce_s256_state_and_nonce(oidc_server, idp):
    with app_client(oidc_server) as app:
        to_idp = app.get("/api/auth/oidc/login")
    assert to_idp.headers["location"].startswith(f"{idp.issuer}/auth?")
    query = parse_qs(urlsplit(to_idp.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["response_type"] == ["code"] and query["client_id"] == ["corral"]
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    cookie = to_idp.headers["set-cookie"]
    assert "corral_oidc=" in cookie and "HttpOnly" in cookie and "Path=/api/auth/oidc" in cookie


# --- ID tokens ----------------------------------------------------------------------


def provider(idp: Idp, **settings: str) -> Provider:
    return Provider(load_settings(**{
        "auth_mode": "local,oidc", "oidc_issuer": idp.issuer, "oidc_client_id": "corral",
        "oidc_client_secret": idp.client_secret, **settings}))


def idp_key(idp: Idp) -> RSAKey:
    return RSAKey.import_key(json.loads((idp.state_dir / "signing-key.json").read_text()))


def claims(idp: Idp, **changes: object) -> dict[str, object]:
    now = int(time.time())
    base = {"iss": idp.issuer, "aud": "corral", "sub": "crafted-subject", "iat": now,
            "exp": now + 300, "nonce": "the-nonce", "name": "Crafted"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: RSAKey | OctKey, payload: dict[str, object], alg: str = "RS256",
         kid: str | None = None) -> str:
    return jwt.encode({"alg": alg, "kid": kid or key.kid}, payload, key, algorithms=[alg])


def unsigned(idp: Idp, payload: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'kid': idp_key(idp).kid})}.{part(payload)}."


async def refused(provider: Provider, token: str, nonce: str, why: str) -> None:
    with pytest.raises(OidcError) as refusal:
        await provider.verify_id_token(token, nonce)
    assert refusal.value.code == "oidc_id_token"
    assert why in refusal.value.message


async def test_a_well_made_token_is_accepted(idp):
    """The control: the crafting itself is right, so the refusals below are about the
    one claim or header each changes."""
    got = await provider(idp).verify_id_token(sign(idp_key(idp), claims(idp)), "the-nonce")
    assert (got.subject, got.issuer, got.display_name) == ("crafted-subject", idp.issuer,
                                                          "Crafted")


async def test_a_forged_signature_is_refused(idp):
    forger = RSAKey.generate_key(2048)
    token = sign(forger, claims(idp), kid=idp_key(idp).kid)  # the provider's kid, not key
    await refused(provider(idp), token, "the-nonce", "signature does not verify")


async def test_an_expired_token_is_refused(idp):
    past = int(time.time()) - 3600
    token = sign(idp_key(idp), claims(idp, iat=past - 300, exp=past))
    await refused(provider(idp), token, "the-nonce", "has expired")


async def test_a_token_for_another_client_is_refused(idp):
    token = sign(idp_key(idp), claims(idp, aud="another-client"))
    await refused(provider(idp), token, "the-nonce", "aud claim is wrong")


async def test_a_token_from_another_issuer_is_refused(idp):
    token = sign(idp_key(idp), claims(idp, iss="https://evil.example.com"))
    await refused(provider(idp), token, "the-nonce", "iss claim is wrong")


async def test_alg_none_is_refused(idp):
    await refused(provider(idp), unsigned(idp, claims(idp)), "the-nonce",
                  "not a JWS this server accepts")


async def test_hmac_with_the_client_secret_is_refused(idp):
    """Algorithm confusion: the client secret is known to the client, so a token
    'signed' with it proves nothing about the provider."""
    key = OctKey.import_key(idp.client_secret.encode())
    token = sign(key, claims(idp), alg="HS256", kid=idp_key(idp).kid)
    await refused(provider(idp), token, "the-nonce", "not a JWS this server accepts")


async def test_a_nonce_mismatch_is_refused(idp):
    token = sign(idp_key(idp), claims(idp, nonce="another-login"))
    await refused(provider(idp), token, "the-nonce", "nonce claim is wrong")


async def test_a_token_without_subject_is_refused(idp):
    token = sign(idp_key(idp), claims(idp, sub=None))
    await refused(provider(idp), token, "the-nonce", "lacks a claim")


# --- real ID tokens from the provider -------------------------------------------------


def real_id_token(idp: Idp, nonce: str) -> str:
    """An ID token glewlwyd issues to `corral` for alice (code flow, by its API)."""
    redirect = "http://127.0.0.1/api/auth/oidc/callback"
    with idp_login_api(idp, "alice") as at_idp:
        back = at_idp.get(f"{idp.issuer}/auth", params={
            "response_type": "code", "client_id": "corral", "redirect_uri": redirect,
            "scope": "openid profile email", "state": "s", "nonce": nonce, "g_continue": ""})
        code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
        token = at_idp.post(f"{idp.issuer}/token", auth=("corral", idp.client_secret), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect})
    token.raise_for_status()
    return token.json()["id_token"]


@pytest.fixture(scope="module")
def real_token(idp, oidc_server) -> str:
    idp_script.set_redirect_uris(idp, [f"{oidc_server.url}/api/auth/oidc/callback",
                                       "http://127.0.0.1/api/auth/oidc/callback"])
    return real_id_token(idp, "nonce-of-this-login")


async def test_a_real_token_is_accepted_with_its_nonce(idp, real_token):
    got = await provider(idp).verify_id_token(real_token, "nonce-of-this-login")
    assert got.username == "alice" and "corral-analysts" in got.groups


async def test_a_real_token_with_another_logins_nonce_is_refused(idp, real_token):
    await refused(provider(idp), real_token, "nonce-of-another-login", "nonce claim is wrong")


async def test_a_real_token_for_another_client_is_refused(idp, real_token):
    await refused(provider(idp, oidc_client_id="another-client"), real_token,
                  "nonce-of-this-login", "aud claim is wrong")


# --- refresh ------------------------------------------------------------------------


def expire_access_token(server, refresh_token: str | None = None) -> None:
    """Age the signed-in sessions' access tokens (and maybe spoil their refresh token)
    in the server's database, as an hour of use would."""
    engine = make_engine(sqlalchemy_url(server.env["DATABASE_URL"]))
    values: dict[str, object] = {"access_token_expires_at": utcnow() - dt.timedelta(hours=1)}
    if refresh_token is not None:
        values["refresh_token"] = refresh_token
    try:
        with engine.begin() as conn:
            conn.execute(sessions.sessions.update().values(**values))
    finally:
        engine.dispose()


def signed_in(server, idp: Idp, app: httpx.Client) -> None:
    with idp_login_api(idp, "alice") as at_idp:
        assert app.get(callback_from_idp(app, at_idp)).headers["location"] == "/"


def test_an_expired_access_token_is_refreshed_at_the_provider(oidc_server, idp):
    with app_client(oidc_server) as app:
        signed_in(oidc_server, idp, app)
        expire_access_token(oidc_server)
        assert app.get("/api/auth/me").json()["username"] == "alice"
        engine = make_engine(sqlalchemy_url(oidc_server.env["DATABASE_URL"]))
        try:
            with engine.connect() as conn:
                latest = conn.execute(sa.select(
                    sa.func.max(sessions.sessions.c.access_token_expires_at))).scalar_one()
        finally:
            engine.dispose()
        assert latest.replace(tzinfo=dt.UTC) > utcnow(), "the refresh set a new expiry"


def test_a_refresh_the_provider_refuses_ends_the_session(oidc_server, idp):
    with app_client(oidc_server) as app:
        signed_in(oidc_server, idp, app)
        expire_access_token(oidc_server, refresh_token="revoked-or-unknown")
        assert app.get("/api/auth/me").status_code == 401
        assert app.get("/api/auth/me").status_code == 401, "the session is gone, not retried"

"""OpenID Connect sign-in against any standard provider: discovery, the authorization
code flow with PKCE (S256), state and nonce in an encrypted short-lived cookie, ID token
verification (signature from the provider's JWKS, issuer, audience, expiry, nonce), the
user's role from a groups claim, token refresh and the provider's end-session URL.

authlib builds the authorization request and talks to the token endpoint; joserfc
(authlib's JOSE layer) verifies the ID token and seals the login cookie.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import ssl
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import authlib.deprecate  # noqa: F401  (installs its filters before ours below)
import httpx
import sqlalchemy as sa
from authlib.common.errors import AuthlibBaseError
from joserfc import jwe, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet, OctKey

with warnings.catch_warnings():
    # authlib would rather use the httpx2 fork; the project pins httpx, which it supports.
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from sqlalchemy.engine import Engine

from app.auth import sessions
from app.settings import Settings

log = logging.getLogger("corral.auth.oidc")

LOGIN_COOKIE = "corral_oidc"
LOGIN_COOKIE_PATH = "/api/auth/oidc"
LOGIN_MAX_AGE_S = 600  # time to sign in at the provider
# Asymmetric algorithms only: `none` and HMAC (keyed with the client secret) are refused.
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
                       "ES384", "ES512", "EdDSA"]
CLOCK_SKEW_S = 60
METADATA_TTL_S = 3600
HTTP_TIMEOUT_S = 10.0


class OidcError(Exception):
    """A refused sign-in: `code` goes to the UI as ?auth_error=, `message` to the log."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Claims:
    """What Corral keeps from a verified ID token."""

    issuer: str
    subject: str
    username: str | None
    display_name: str | None
    email: str | None
    groups: list[str]


@dataclass(frozen=True)
class SignIn:
    claims: Claims
    id_token: str
    refresh_token: str | None
    access_token_expires_at: float | None


def groups_of(value: object) -> list[str]:
    """A groups claim as a list: a JSON list, or one string of comma/space-separated names."""
    if isinstance(value, str):
        return [g for g in value.replace(",", " ").split() if g]
    if isinstance(value, list):
        return [str(g) for g in value if isinstance(g, str | int)]
    return []


def role_for(groups: list[str], admin_groups: str) -> str:
    wanted = {g.strip() for g in admin_groups.split(",") if g.strip()}
    return "admin" if wanted & set(groups) else "analyst"


def allowed(groups: list[str], allowed_groups: str) -> bool:
    wanted = {g.strip() for g in allowed_groups.split(",") if g.strip()}
    return not wanted or bool(wanted & set(groups))


class Provider:
    """One configured provider: its discovery document and keys, cached."""

    def __init__(self, settings: Settings) -> None:
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret
        self.scopes = settings.oidc_scopes
        self.groups_claim = settings.oidc_groups_claim
        self.redirect_url = settings.oidc_redirect_url
        self.verify = tls_trust(settings.oidc_ca_file)
        # The login cookie's key, derived from the client secret: every replica of one
        # deployment shares it, nobody without the secret can read or forge the cookie.
        digest = hmac.new(self.client_secret.encode(), b"corral oidc login cookie",
                          hashlib.sha256).digest()
        self._cookie_key = OctKey.import_key(digest)
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        # States already used by a callback here, until they would have expired anyway.
        self._spent: dict[str, float] = {}

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_TTL_S:
            url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            doc = await _get_json(url, self.verify)
            if doc.get("issuer") != self.issuer:
                raise OidcError("oidc_unavailable", f"the discovery document at {url} names "
                                f"issuer {doc.get('issuer')!r}, not OIDC_ISSUER={self.issuer!r}")
            self._metadata, self._metadata_at = doc, time.monotonic()
        return self._metadata

    async def keys(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            jwks = await _get_json((await self.metadata())["jwks_uri"], self.verify)
            self._keys = KeySet.import_key_set(jwks)
        return self._keys

    def _client(self, redirect_uri: str | None = None) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id, client_secret=self.client_secret, scope=self.scopes,
            redirect_uri=redirect_uri, code_challenge_method="S256", timeout=HTTP_TIMEOUT_S,
            token_endpoint_auth_method="client_secret_basic", verify=self.verify)

    # --- login -----------------------------------------------------------------------

    async def login_url(self, redirect_uri: str) -> tuple[str, str]:
        """(the provider's authorization URL, the sealed login cookie value)."""
        meta = await self.metadata()
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48)
        async with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                meta["authorization_endpoint"], state=state, code_verifier=verifier,
                nonce=nonce)
        cookie = self._seal({"state": state, "nonce": nonce, "verifier": verifier,
                             "redirect_uri": redirect_uri, "exp": int(time.time()) + LOGIN_MAX_AGE_S})
        return url, cookie

    def _seal(self, data: dict[str, Any]) -> str:
        header = {"alg": "dir", "enc": "A256GCM"}
        return jwe.encrypt_compact(header, json.dumps(data).encode(), self._cookie_key)

    def unseal(self, cookie: str | None) -> dict[str, Any]:
        """The login cookie's content; OidcError when absent, forged or expired."""
        if not cookie:
            raise OidcError("oidc_state", "no sign-in in progress in this browser (the "
                            "login cookie is missing: expired, or cookies blocked)")
        try:
            data = json.loads(jwe.decrypt_compact(cookie, self._cookie_key).plaintext or b"")
        except (JoseError, ValueError):
            raise OidcError("oidc_state", "the login cookie is not one this server made") from None
        if data.get("exp", 0) < time.time():
            raise OidcError("oidc_state", "the sign-in took longer than "
                            f"{LOGIN_MAX_AGE_S} s; start again")
        return data

    def check_state(self, login: dict[str, Any], state: str | None) -> None:
        """The callback's state must be this browser's, and not used before."""
        if not state:
            raise OidcError("oidc_state", "the callback has no state parameter")
        if not hmac.compare_digest(state.encode(), str(login["state"]).encode()):
            raise OidcError("oidc_state", "the callback's state is not this browser's "
                            "sign-in (possible login CSRF)")
        now = time.time()
        self._spent = {s: t for s, t in self._spent.items() if t > now}
        if state in self._spent:
            raise OidcError("oidc_state", "this sign-in's state was used already (replayed)")
        self._spent[state] = now + LOGIN_MAX_AGE_S

    async def finish(self, login: dict[str, Any], code: str | None) -> SignIn:
        """Exchange the code (with the PKCE verifier) and verify the ID token."""
        if not code:
            raise OidcError("oidc_denied", "the callback has no authorization code")
        meta = await self.metadata()
        try:
            async with self._client(login["redirect_uri"]) as client:
                token = await client.fetch_token(
                    meta["token_endpoint"], grant_type="authorization_code", code=code,
                    code_verifier=login["verifier"])
        except (AuthlibBaseError, httpx.HTTPError, ValueError) as exc:
            raise OidcError("oidc_token", f"the token endpoint refused the code: {exc}") from None
        id_token = token.get("id_token")
        if not id_token:
            raise OidcError("oidc_id_token", "the token response has no id_token")
        claims = await self.verify_id_token(id_token, login["nonce"])
        expires_at = token.get("expires_at")
        return SignIn(claims, id_token, token.get("refresh_token"),
                      float(expires_at) if expires_at else None)

    # --- ID token ----------------------------------------------------------------------

    async def verify_id_token(self, id_token: str, nonce: str | None) -> Claims:
        """Signature (provider's JWKS, asymmetric algorithms only), iss, aud, exp, iat and
        nonce; OidcError("oidc_id_token", why) otherwise. `nonce` None: a refresh, where
        the new ID token need not repeat it."""
        keys = await self.keys()
        try:
            if _kid(id_token) not in {k.kid for k in keys.keys}:
                keys = await self.keys(refresh=True)  # the provider may have rotated keys
            token = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
        except BadSignatureError:
            raise OidcError("oidc_id_token", "the ID token's signature does not verify "
                            "against the provider's keys") from None
        except (JoseError, ValueError) as exc:
            raise OidcError("oidc_id_token", f"the ID token is not a JWS this server "
                            f"accepts ({type(exc).__name__}: {exc}); allowed algorithms: "
                            f"{', '.join(ID_TOKEN_ALGORITHMS)}") from None
        self._check_claims(token.claims, nonce)
        return self._claims(token.claims)

    def _check_claims(self, claims: dict[str, Any], nonce: str | None) -> None:
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": self.issuer},
            "aud": {"essential": True, "value": self.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
        }
        if nonce is not None:
            options["nonce"] = {"essential": True, "value": nonce}
        registry = jwt.JWTClaimsRegistry(leeway=CLOCK_SKEW_S, **options)
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise OidcError("oidc_id_token", "the ID token has expired") from None
        except MissingClaimError as exc:
            raise OidcError("oidc_id_token", f"the ID token lacks a claim: {exc}") from None
        except InvalidClaimError as exc:
            raise OidcError("oidc_id_token", f"the ID token's {exc.claim} claim is wrong "
                            f"(issuer {self.issuer!r}, audience {self.client_id!r})") from None
        except JoseError as exc:
            raise OidcError("oidc_id_token", f"the ID token's claims are refused: {exc}") from None
        aud = claims["aud"]
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != self.client_id:
            raise OidcError("oidc_id_token", "the ID token has several audiences and its azp "
                            "is not this client")

    def _claims(self, claims: dict[str, Any]) -> Claims:
        def text(name: str) -> str | None:
            value = claims.get(name)
            return value if isinstance(value, str) and value else None

        return Claims(self.issuer, str(claims["sub"]), text("preferred_username"),
                      text("name"), text("email"), groups_of(claims.get(self.groups_claim)))

    # --- after sign-in ------------------------------------------------------------------

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        """New tokens for a session; OidcError when the provider says no (the user was
        disabled or signed out there)."""
        meta = await self.metadata()
        try:
            async with self._client() as client:
                return dict(await client.refresh_token(meta["token_endpoint"],
                                                       refresh_token=refresh_token))
        except httpx.TransportError as exc:
            raise OidcError("oidc_unavailable", f"the token endpoint did not answer: {exc}") from None
        except (AuthlibBaseError, httpx.HTTPError, ValueError) as exc:
            raise OidcError("oidc_refresh", f"the provider refused the refresh: {exc}") from None

    async def end_session_url(self, id_token: str | None, after_logout: str) -> str | None:
        """The provider's end-session URL (RP-initiated logout), or None without one."""
        try:
            endpoint = (await self.metadata()).get("end_session_endpoint")
        except OidcError:
            return None
        if not endpoint:
            return None
        query = {"post_logout_redirect_uri": after_logout, "client_id": self.client_id}
        if id_token:
            query["id_token_hint"] = id_token
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"


async def keep_fresh(state: Any, settings: Settings, engine: Engine, id_hash: str) -> bool:
    """An OIDC session whose access token has expired is refreshed at the provider, so a
    user disabled or signed out there loses the session here within the token lifetime.
    False when the provider refuses (the session is then ended); True otherwise, also
    while the provider is unreachable (the session's own limits still apply)."""
    idp = provider_for(state, settings)
    if idp is None:
        return True
    session = await asyncio.to_thread(_session_tokens, engine, id_hash)
    if session is None or not session.refresh_token or session.access_token_expires_at is None:
        return True
    if session.access_token_expires_at.timestamp() > time.time() + CLOCK_SKEW_S:
        return True
    try:
        fresh = await idp.refresh(session.refresh_token)
        if fresh.get("id_token"):
            await idp.verify_id_token(fresh["id_token"], None)
    except OidcError as exc:
        if exc.code == "oidc_unavailable":
            log.warning("OIDC refresh postponed: %s", exc.message)
            return True
        log.info("OIDC session ended: %s", exc.message)
        await asyncio.to_thread(sessions.delete_hash, engine, id_hash)
        return False
    expires = fresh.get("expires_at")
    await asyncio.to_thread(
        sessions.update, engine, id_hash,
        refresh_token=fresh.get("refresh_token") or session.refresh_token,
        id_token=fresh.get("id_token") or session.id_token,
        access_token_expires_at=dt.datetime.fromtimestamp(expires, dt.UTC) if expires else None)
    return True


def _session_tokens(engine: Engine, id_hash: str) -> sessions.Session | None:
    table = sessions.sessions
    with engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.id_hash == id_hash)).first()
    return sessions._session(row) if row else None


def provider_for(state: Any, settings: Settings) -> Provider | None:
    """The app's one Provider, kept on `app.state` (it caches discovery and keys); None
    when AUTH_MODE has no oidc."""
    if "oidc" not in settings.auth_modes:
        return None
    found = getattr(state, "oidc_provider", None)
    if found is None or found.issuer != settings.oidc_issuer:
        found = state.oidc_provider = Provider(settings)
    return found


def _kid(token: str) -> str | None:
    try:
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    except (ValueError, IndexError):
        return None
    return header.get("kid") if isinstance(header, dict) else None


def tls_trust(ca_file: str) -> ssl.SSLContext | bool:
    """What the provider's TLS certificate is checked against: the public CAs (httpx's
    default), plus OIDC_CA_FILE's when set (a provider behind a company CA)."""
    if not ca_file:
        return True
    context = httpx.create_ssl_context()
    context.load_verify_locations(cafile=ca_file)
    return context


async def _get_json(url: str, verify: ssl.SSLContext | bool) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, verify=verify) as client:
            answer = await client.get(url)
            answer.raise_for_status()
            doc = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OidcError("oidc_unavailable", f"the identity provider did not answer {url}: "
                        f"{exc}") from None
    if not isinstance(doc, dict):
        raise OidcError("oidc_unavailable", f"{url} did not answer a JSON object")
    return doc

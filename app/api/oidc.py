"""/api/auth/oidc: the browser's way through OpenID Connect sign-in. `login` sends it to
the identity provider, `callback` brings it back signed in (a session, as a local
sign-in gives) or to `/?auth_error=<code>` with the reason in the server log. Both are
public and browser navigations, not JSON API calls, so they stay out of /openapi.json."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse

from app.api.auth import start_session
from app.api.deps import SettingsDep, StoreDep
from app.auth import oidc_accounts, sessions
from app.auth.oidc import (
    LOGIN_COOKIE,
    LOGIN_COOKIE_PATH,
    LOGIN_MAX_AGE_S,
    OidcError,
    Provider,
    provider_for,
)
from app.settings import Settings

log = logging.getLogger("corral.auth.oidc")
router = APIRouter(prefix="/api/auth/oidc", tags=["auth"], include_in_schema=False)
OIDC_OFF = "OIDC sign-in is off (AUTH_MODE does not include oidc)"


def provider(request: Request, settings: Settings) -> Provider:
    """The app's one Provider (it caches discovery and keys); 404 when OIDC is off."""
    found = provider_for(request.app.state, settings)
    if found is None:
        raise HTTPException(404, OIDC_OFF)
    return found


def callback_url(request: Request, settings: Settings) -> str:
    return settings.oidc_redirect_url or str(request.url_for("oidc_callback"))


def refused(error: OidcError) -> RedirectResponse:
    log.warning("OIDC sign-in refused (%s): %s", error.code, error.message)
    response = RedirectResponse(f"/?auth_error={error.code}", status_code=302)
    response.delete_cookie(LOGIN_COOKIE, path=LOGIN_COOKIE_PATH)
    return response


@router.get("/login")
async def login(request: Request, settings: SettingsDep) -> RedirectResponse:
    """302 to the provider's sign-in page, with a fresh state, nonce and PKCE verifier
    sealed in a cookie for the callback."""
    idp = provider(request, settings)
    try:
        url, sealed = await idp.login_url(callback_url(request, settings))
    except OidcError as exc:
        return refused(exc)
    response = RedirectResponse(url, status_code=302)
    # SameSite=Lax: the provider's redirect back is a top-level GET, which Lax lets through.
    response.set_cookie(LOGIN_COOKIE, sealed, max_age=LOGIN_MAX_AGE_S, path=LOGIN_COOKIE_PATH,
                        httponly=True, samesite="lax",
                        secure=sessions.cookie_secure(settings.cookie_secure, request.url.scheme))
    return response


@router.get("/callback", name="oidc_callback")
async def callback(request: Request, settings: SettingsDep, storage: StoreDep,
                   state: str | None = None, code: str | None = None,
                   error: str | None = None) -> RedirectResponse:
    """Check state, exchange the code, verify the ID token, sign the user in; 302 to /."""
    idp = provider(request, settings)
    try:
        if not state:
            raise OidcError("oidc_state", "the callback has no state parameter")
        started = idp.unseal(request.cookies.get(LOGIN_COOKIE))
        idp.check_state(started, state)
        if error:
            raise OidcError("oidc_denied", f"the provider answered error={error[:100]!r}")
        signed_in = await idp.finish(started, code)
        user = await asyncio.to_thread(oidc_accounts.sign_in, storage.engine, signed_in.claims,
                                       settings.admin_groups, settings.allowed_groups)
    except OidcError as exc:
        return refused(exc)
    response = RedirectResponse("/", status_code=302)
    if old := request.cookies.get(sessions.COOKIE):
        await asyncio.to_thread(sessions.delete, storage.engine, old)
    expires = signed_in.access_token_expires_at
    await asyncio.to_thread(
        start_session, request, response, settings, storage, user,
        id_token=signed_in.id_token, refresh_token=signed_in.refresh_token,
        access_token_expires_at=dt.datetime.fromtimestamp(expires, dt.UTC) if expires else None)
    response.delete_cookie(LOGIN_COOKIE, path=LOGIN_COOKIE_PATH)
    log.info("OIDC sign-in: %s (%s)", user.username, user.role)
    return response


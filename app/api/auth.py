"""/api/auth: the sign-in configuration, first-admin setup, local sign-in, sign-out and
who is signed in. Sessions live server-side (app/auth/sessions.py); the browser holds
`corral_session` (HttpOnly) and `corral_csrf` (read by the UI for X-CSRF-Token)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response

from app.api.csrf import check_origin
from app.api.deps import CurrentUser, SettingsDep, StoreDep
from app.api.responses import RETRY_AFTER, errors
from app.auth import bootstrap, sessions, users
from app.auth.identity import Identity, of_user
from app.auth.login import Locked, authenticate
from app.auth.oidc import provider_for
from app.models import AuthConfig, ErrorMessage, LoginRequest, LogoutAnswer, Me, SetupRequest
from app.settings import Settings
from app.storage import Storage

router = APIRouter(prefix="/api/auth", tags=["auth"])

SETUP_REFUSED = ("Setup refused: an admin exists already, or the setup code is wrong, used "
                 "or expired (`corral setup-code` prints a new one while there is no admin)")
LOCAL_OFF = "Local accounts are off (AUTH_MODE does not include local)"
_LOCKED = {429: {"description": "Too many failed sign-ins for this name; wait Retry-After "
                 "seconds.", "headers": RETRY_AFTER, "model": ErrorMessage}}


def me(identity: Identity) -> dict[str, Any]:
    return {"id": identity.user_id, "username": identity.username,
            "display_name": identity.display_name or identity.username, "role": identity.role,
            "source": identity.account_source, "csrf_token": identity.csrf_token}


def start_session(request: Request, response: Response, settings: Settings,
                  storage: Storage, user: users.User, **oidc: Any) -> dict[str, Any]:
    """Create a session for `user`, set its two cookies on `response`; the Me body.
    (Synchronous: call it in a worker thread. OIDC sign-in passes its tokens: app/api/oidc.py.)"""
    cookie, session = sessions.create(storage.engine, user.id, settings.session_max_age_s,
                                      **oidc)
    secure = sessions.cookie_secure(settings.cookie_secure, request.url.scheme)
    common = {"max_age": settings.session_max_age_s, "path": "/", "secure": secure}
    response.set_cookie(sessions.COOKIE, cookie, httponly=True, samesite="lax", **common)
    response.set_cookie(sessions.CSRF_COOKIE, session.csrf_token, httponly=False,
                        samesite="strict", **common)
    return me(of_user(user, "session", session_id=session.id_hash,
                      csrf_token=session.csrf_token))


def clear_cookies(response: Response) -> None:
    for name in (sessions.COOKIE, sessions.CSRF_COOKIE):
        response.delete_cookie(name, path="/")


@router.get("/config", response_model=AuthConfig, responses=errors(503))
async def config(settings: SettingsDep, storage: StoreDep) -> dict[str, Any]:
    """Public: the sign-in modes, and whether the first admin must still be created."""
    local = "local" in settings.auth_modes
    no_admin = local and not await asyncio.to_thread(users.admin_exists, storage.engine)
    return {"modes": settings.auth_modes, "setup_required": no_admin,
            "oidc_login_url": "/api/auth/oidc/login" if "oidc" in settings.auth_modes else None}


@router.post("/setup", response_model=Me, responses=errors(400, 403, 413, 422, 503))
async def setup(body: SetupRequest, request: Request, response: Response,
                settings: SettingsDep, storage: StoreDep) -> dict[str, Any]:
    """Public, once: create the first admin with the one-time code from
    `corral setup-code`, and sign them in."""
    check_origin(request)
    if "local" not in settings.auth_modes:
        raise HTTPException(403, LOCAL_OFF)
    return await asyncio.to_thread(_setup, body, request, response, settings, storage)


def _setup(body: SetupRequest, request: Request, response: Response, settings: Settings,
           storage: Storage) -> dict[str, Any]:
    engine = storage.engine
    if users.admin_exists(engine) or users.find(engine, body.username) is not None:
        # A taken name is refused like the rest: setup says nothing about who exists.
        raise HTTPException(403, SETUP_REFUSED)
    if not bootstrap.redeem(engine, body.code):
        raise HTTPException(403, SETUP_REFUSED)
    try:
        user = users.create(engine, body.username, role="admin", password=body.password)
    except users.UsernameTaken:  # taken between the check and now
        raise HTTPException(403, SETUP_REFUSED) from None
    users.touch_login(engine, user.id)
    return start_session(request, response, settings, storage, user)


@router.post("/login", response_model=Me, responses={**errors(400, 401, 403, 413, 422, 503),
                                                     **_LOCKED},
             openapi_extra={"security": []})
async def login(body: LoginRequest, request: Request, response: Response,
                settings: SettingsDep, storage: StoreDep) -> dict[str, Any]:
    """Public: sign in with a local account. One answer (401) for an unknown name, a
    wrong password and a disabled account, after the same argon2 work; 429 with
    Retry-After while the name is locked out for this client address (LOGIN_MAX_FAILURES,
    LOGIN_LOCKOUT_S; from any address after ten times as many failures)."""
    check_origin(request)
    if "local" not in settings.auth_modes:
        raise HTTPException(403, LOCAL_OFF)
    outcome = await asyncio.to_thread(
        authenticate, storage.engine, body.username, body.password,
        request.client.host if request.client else "", settings.login_max_failures,
        settings.login_lockout_s)
    if isinstance(outcome, Locked):
        raise HTTPException(
            429, f"Too many failed sign-ins for this name from here (LOGIN_MAX_FAILURES="
                 f"{settings.login_max_failures}); try again in {outcome.retry_after_s} s",
            headers={"Retry-After": str(outcome.retry_after_s)})
    if outcome is None:
        raise HTTPException(401, "Invalid or expired credentials",
                            headers={"WWW-Authenticate": "Bearer"})
    return await asyncio.to_thread(start_session, request, response, settings, storage,
                                   outcome)


@router.post("/logout", response_model=LogoutAnswer, responses=errors(401, 403, 503))
async def logout(request: Request, response: Response, identity: CurrentUser,
                 settings: SettingsDep, storage: StoreDep) -> dict[str, Any]:
    """End this session and clear its cookies (CSRF-checked). A token request changes
    nothing: revoke a token with DELETE /api/tokens/{id}."""
    redirect = None  # OIDC: the identity provider's end-session URL (app/auth/oidc.py)
    if identity.source == "session" and (cookie := request.cookies.get(sessions.COOKIE)):
        ended = await asyncio.to_thread(sessions.delete, storage.engine, cookie)
        clear_cookies(response)
        idp = provider_for(request.app.state, settings)
        if ended is not None and ended.id_token and idp is not None:
            redirect = await idp.end_session_url(ended.id_token, str(request.base_url))
    return {"redirect": redirect}


@router.get("/me", response_model=Me, responses=errors(401, 403, 503))
async def whoami(identity: CurrentUser) -> dict[str, Any]:
    """Who is signed in, their role, and the CSRF token of this session."""
    return me(identity)

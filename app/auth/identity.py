"""Who is asking: the `Identity` of a request, resolved from its API token
(`Authorization: Bearer crl_...`), a trusted proxy's header (app/auth/proxy.py) or its
session cookie; with AUTH_MODE=none, the one
anonymous identity for loopback peers. The routes get it through `CurrentUser` and
`AdminUser` (app/api/deps.py).
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from typing import Literal

from fastapi import Request
from sqlalchemy.engine import Engine

from app.auth import oidc, proxy, sessions, tokens
from app.auth.users import User
from app.settings import Settings

Source = Literal["session", "token", "proxy", "none"]


@dataclass(frozen=True)
class Identity:
    user_id: str | None  # None only with AUTH_MODE=none (owns the rows made without identity)
    username: str
    role: str
    source: Source
    token_scope: str | None = None
    session_id: str | None = None  # the session's id_hash, never the cookie value
    display_name: str = ""
    account_source: str = "none"  # the user's: local | oidc | proxy (none: AUTH_MODE=none)
    csrf_token: str | None = None
    groups: tuple[str, ...] = ()  # from the OIDC provider or trusted proxy (app/visibility.py)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


# AUTH_MODE=none: everyone on this machine is this one admin.
ANONYMOUS = Identity(user_id=None, username="anonymous", role="admin", source="none",
                     display_name="anonymous (AUTH_MODE=none)")


def of_user(user: User, source: Source, **extra: object) -> Identity:
    return Identity(user_id=user.id, username=user.username, role=user.role, source=source,
                    display_name=user.display_name, account_source=user.source,
                    groups=user.groups, **extra)  # type: ignore[arg-type]


def is_loopback_peer(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def presented_credentials(request: Request) -> bool:
    return "authorization" in request.headers or sessions.COOKIE in request.cookies


def _from_token(engine: Engine, header: str) -> Identity | None:
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    found = tokens.check(engine, secret.strip())
    if found is None:
        return None
    info, user = found
    # A token keeps admin scope only while its user is an admin.
    scope = info.scope if user.is_admin else "query"
    return of_user(user, "token", token_scope=scope)


def _from_session(engine: Engine, cookie: str, idle_timeout_s: int) -> Identity | None:
    found = sessions.lookup(engine, cookie, idle_timeout_s)
    if found is None:
        return None
    session, user = found
    return of_user(user, "session", session_id=session.id_hash, csrf_token=session.csrf_token)


def _from_proxy(engine: Engine, settings: Settings, request: Request) -> Identity | None:
    user = proxy.proxy_user(engine, settings, request.headers[settings.auth_proxy_user_header],
                            request.headers.get(settings.auth_proxy_groups_header))
    return of_user(user, "proxy") if user else None


async def resolve(request: Request) -> Identity | None:
    """The request's identity, or None (no or bad credentials; AUTH_MODE=none and a
    peer that is not loopback). A bad bearer token is never rescued by a cookie."""
    services = request.app.state.services
    settings, engine = services.settings, services.storage.engine
    if settings.auth_mode == "none":
        return ANONYMOUS if is_loopback_peer(request) else None
    if (header := request.headers.get("authorization")) is not None:
        return await asyncio.to_thread(_from_token, engine, header)
    if proxy.wants_proxy_identity(request, settings):
        return await asyncio.to_thread(_from_proxy, engine, settings, request)
    if cookie := request.cookies.get(sessions.COOKIE):
        identity = await asyncio.to_thread(_from_session, engine, cookie,
                                           settings.session_idle_timeout_s)
        if identity is not None and identity.account_source == "oidc" and \
                not await oidc.keep_fresh(request.app.state, settings, engine,
                                          identity.session_id or ""):
            return None
        return identity
    return None

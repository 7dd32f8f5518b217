"""What an authenticating reverse proxy tells the server, believed only from TRUSTED_PROXIES:
the scheme and client address (X-Forwarded-Proto/-For) and, with `proxy` in AUTH_MODE, the
signed-in user (AUTH_PROXY_USER_HEADER, AUTH_PROXY_GROUPS_HEADER).

From any other peer these headers are ignored: anyone can send them. The server's own
uvicorn must not rewrite the peer address first (it runs with --no-proxy-headers; see
app/serving.py), or a forged X-Forwarded-For could pose as a trusted proxy.
"""

from __future__ import annotations

import datetime as dt
import logging

from fastapi import Request
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth import users
from app.auth.users import User, UserError
from app.hostnames import Network, address_in
from app.settings import Settings, running_settings
from app.storage import utcnow

log = logging.getLogger("corral")

# Scope key: True when the immediate peer is in TRUSTED_PROXIES (set by TrustedProxy).
TRUSTED = "corral.trusted_proxy"
_SCHEMES = {"http": ("http", "https"), "websocket": ("ws", "wss")}
# A proxy user's last_login_at is refreshed at most this often (one write, not one per request).
_LOGIN_REFRESH = dt.timedelta(minutes=15)
_warned_untrusted = False


def _header(scope: Scope, name: bytes) -> str | None:
    values = [v.decode("latin-1") for k, v in scope["headers"] if k == name]
    return ",".join(values) if values else None


def forwarded_client(forwarded_for: str, networks: tuple[Network, ...]) -> str | None:
    """The client a chain of proxies reports: the rightmost X-Forwarded-For entry that is
    not itself a trusted proxy (entries further left are whatever the client wrote)."""
    for entry in reversed([e.strip() for e in forwarded_for.split(",")]):
        if not address_in(entry, networks):
            return entry or None
    return None


def apply_forwarded(scope: Scope, networks: tuple[Network, ...]) -> Scope:
    """A copy of the scope as the proxy saw the request, when the peer is a trusted proxy."""
    client = scope.get("client")
    trusted = bool(client) and address_in(client[0], networks)
    scope = dict(scope)
    scope[TRUSTED] = trusted
    if not trusted:
        return scope
    proto = _header(scope, b"x-forwarded-proto")
    if proto is not None:
        last = proto.rpartition(",")[2].strip().lower()
        plain, secure = _SCHEMES[scope["type"]]
        if last in ("http", "https"):
            scope["scheme"] = secure if last == "https" else plain
    forwarded_for = _header(scope, b"x-forwarded-for")
    if forwarded_for and (real := forwarded_client(forwarded_for, networks)):
        scope["client"] = (real, 0)
    return scope


class TrustedProxy:
    """Pure ASGI: applies X-Forwarded-Proto/-For from TRUSTED_PROXIES, marks the scope."""

    def __init__(self, app: ASGIApp, settings: Settings | None = None) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in _SCHEMES:
            settings = self.settings or running_settings(scope["app"])
            networks = settings.trusted_proxy_networks if settings else ()
            scope = apply_forwarded(scope, networks)
        await self.app(scope, receive, send)


def from_trusted_proxy(request: Request) -> bool:
    return bool(request.scope.get(TRUSTED))


def names(header: str | None) -> set[str]:
    """A comma list of group names, as oauth2-proxy and most others send it."""
    return {g.strip() for g in (header or "").split(",") if g.strip()}


def wants_proxy_identity(request: Request, settings: Settings) -> bool:
    """Whether this request's identity is to be taken from the proxy header: proxy mode is
    on, the header is there, and the peer is a trusted proxy. A header from anyone else is
    ignored (logged once: it is either a misconfigured TRUSTED_PROXIES or an attempt)."""
    global _warned_untrusted
    if settings.auth_proxy_user_header not in request.headers:
        return False
    trusted = "proxy" in settings.auth_modes and from_trusted_proxy(request)
    if not trusted and not _warned_untrusted:
        _warned_untrusted = True
        peer = request.scope.get("client") or ("?",)
        log.warning("ignored %s from %s: %s; further ones are ignored silently",
                    settings.auth_proxy_user_header, peer[0],
                    "the peer is not in TRUSTED_PROXIES" if "proxy" in settings.auth_modes
                    else "proxy is not in AUTH_MODE")
    return trusted


def proxy_user(engine: Engine, settings: Settings, username: str,
               groups_header: str | None) -> User | None:
    """The user a trusted proxy names, created (source proxy) or updated on sight; None
    when the name is invalid, the groups do not allow sign-in, or the account is disabled
    or belongs to another sign-in mode (a proxy must not take over a local account)."""
    groups = names(groups_header)
    allowed = names(settings.allowed_groups)
    if allowed and not groups & allowed:
        log.info("proxy user %r refused: in none of ALLOWED_GROUPS", username[:64])
        return None
    admins = names(settings.admin_groups)
    role = "admin" if groups & admins else "analyst"
    user = users.find(engine, username)
    if user is None:
        try:
            user = users.create(engine, username, role=role, source="proxy")
        except UserError as exc:  # a bad name, or created by a concurrent request
            user = users.find(engine, username)
            if user is None:
                log.info("proxy user refused: %s", exc.message)
                return None
    if user.source != "proxy" or user.disabled:
        log.info("proxy user %r refused: %s", user.username,
                 "disabled" if user.disabled else f"the account signs in by {user.source}")
        return None
    return _refreshed(engine, user, role if admins else user.role, groups)


def _refreshed(engine: Engine, user: User, role: str, groups: set[str]) -> User:
    """Role from ADMIN_GROUPS when set (the groups decide), the groups as sent (per-dataset
    visibility, app/visibility.py), and an occasional last login."""
    changes: dict[str, object] = {}
    if role != user.role:
        changes["role"] = role
    if tuple(sorted(groups)) != user.groups:
        changes["groups"] = users.stored_groups(groups)
    now = utcnow()
    if user.last_login_at is None or now - user.last_login_at > _LOGIN_REFRESH:
        changes["last_login_at"] = now
    if not changes:
        return user
    return users.update(engine, user.id, **changes) or user

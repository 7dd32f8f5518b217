"""What an authenticating reverse proxy tells the server, believed only from TRUSTED_PROXIES:
the scheme and client address (X-Forwarded-Proto/-For) and, with `proxy` in AUTH_MODE, the
signed-in user (AUTH_PROXY_USER_HEADER, AUTH_PROXY_GROUPS_HEADER).

From any other peer these headers are ignored: anyone can send them. The server's own
uvicorn must not rewrite the peer address first (it runs with --no-proxy-headers; see
app/serving.py), or a forged X-Forwarded-For could pose as a trusted proxy.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from app.hostnames import Network, address_in
from app.settings import Settings, running_settings

log = logging.getLogger("corral")

# Scope key: True when the immediate peer is in TRUSTED_PROXIES (set by TrustedProxy).
TRUSTED = "corral.trusted_proxy"
_SCHEMES = {"http": ("http", "https"), "websocket": ("ws", "wss")}


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

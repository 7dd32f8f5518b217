"""Refuses requests for a foreign Host (421) and state-changing requests from a foreign
Origin (403) before any handler runs: the defence against DNS rebinding and cross-site posts.

Pure ASGI and outermost (app/main.py), so a refused request reaches no route, no dependency
and no database. /healthz and /readyz are exempt: probes address pods by IP, and the
answers carry no user data.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.hostnames import host_allowed, host_of
from app.settings import Settings, running_settings

EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Refused(Exception):
    """Why the request is refused, said to the client as `detail`."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail


def _shown(value: bytes | str) -> str:
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    return repr(text[:100])  # quoted, control characters escaped, bounded


def request_host(scope: Scope) -> str:
    """The canonical name this request is for; raises Refused (421) when absent or malformed.

    An absolute-form target (`GET http://name/path`) names its host itself and the Host
    header is then ignored (RFC 9112, 3.2.2), so that is the name checked."""
    values = [v for k, v in scope["headers"] if k == b"host"]
    if len(values) > 1:
        raise Refused(421, "The request has more than one Host header; send exactly one.")
    target = scope.get("raw_path") or b"/"
    if not target.startswith(b"/") and target != b"*":
        raw = urlsplit(target.decode("latin-1")).netloc.rpartition("@")[2]
    elif values:
        raw = values[0].decode("latin-1")
    else:
        raise Refused(421, "The request has no Host header; send the name this server is "
                      "reached by (one of ALLOWED_HOSTS).")
    host = host_of(raw)
    if host is None:
        raise Refused(421, f"Host {_shown(raw)} is not a valid host name; send the name this "
                      "server is reached by (one of ALLOWED_HOSTS).")
    return host


def check_origin(scope: Scope, host: str, cors_origins: set[str]) -> None:
    """403 for a state-changing request whose Origin is neither this host nor CORS_ORIGINS.

    Hostnames are compared (and ports, when the Host header has one): behind a TLS proxy
    the scheme and port the browser used are not the ones this server sees."""
    if scope["method"] not in STATE_CHANGING:
        return
    origin = next((v for k, v in scope["headers"] if k == b"origin"), None)
    if origin is None:
        return  # not a browser's cross-site request (browsers send Origin on every POST)
    text = origin.decode("latin-1").strip().lower().rstrip("/")
    if text in cors_origins:
        return
    own_port = _host_port(scope)
    try:  # urlsplit itself raises on a malformed [bracketed] host: refused, not a 500
        parts = urlsplit(text)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        raise Refused(403, f"Origin {_shown(text)} is not a valid origin.") from None
    same = (parts.scheme in ("http", "https") and host_of(parts.netloc or "") == host
            and (own_port is None or port == own_port))
    if not same:
        raise Refused(403, f"Origin {_shown(text)} may not send this request to "
                      f"{host}; only pages served by this server (or listed in CORS_ORIGINS) "
                      "may.")


def _host_port(scope: Scope) -> int | None:
    value = next((v for k, v in scope["headers"] if k == b"host"), b"")
    # Already validated by request_host: the last ":" (after "]" for IPv6) starts the port.
    _, sep, port = value.decode("latin-1").rpartition(":")
    return int(port) if sep and port.isdigit() else None


class HostAllowList:
    """421 for a Host outside ALLOWED_HOSTS, 403 for a foreign Origin; see the module doc."""

    def __init__(self, app: ASGIApp, settings: Settings | None = None) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        settings = self.settings or running_settings(scope["app"])
        try:
            if settings is None:  # start-up failed or has not finished: serve nothing
                raise Refused(503, "The server is starting; try again in a few seconds.")
            self._check(scope, settings)
        except Refused as refused:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            response = JSONResponse({"detail": refused.detail}, status_code=refused.status)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _check(scope: Scope, settings: Settings) -> None:
        host = request_host(scope)
        if not host_allowed(host, settings.allowed_host_rules):
            raise Refused(421, f"This server does not answer for Host {_shown(host)}; if it "
                          "should, add it to ALLOWED_HOSTS.")
        if scope["type"] == "http":
            check_origin(scope, host, settings.cors_origin_set)

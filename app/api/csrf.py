"""Browser safety for cookie-authenticated requests: a state-changing request must carry
the session's CSRF token in `X-CSRF-Token`, and an `Origin` header, when sent, must
name this server. Bearer-token requests carry no ambient credential and need neither.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from app.auth.identity import Identity
from app.auth.sessions import CSRF_HEADER

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_MESSAGE = "CSRF token missing or wrong; reload the page"


def _host_port(netloc: str) -> tuple[str, str]:
    parts = urlsplit(f"//{netloc}")
    return (parts.hostname or "").lower(), str(parts.port or "")


def origin_allowed(request: Request) -> bool:
    """No Origin header (not a cross-site browser request), or one naming this host.
    Ports are compared when both sides name one: a TLS proxy may drop it from Host."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        return False
    want_host, want_port = _host_port(request.headers.get("host", ""))
    host, port = _host_port(urlsplit(origin).netloc)
    return bool(host) and host == want_host and (not port or not want_port or port == want_port)


def check_origin(request: Request) -> None:
    if request.method not in SAFE_METHODS and not origin_allowed(request):
        raise HTTPException(403, "Cross-origin request refused: the Origin header does not "
                                 "name this server")


def check_csrf(request: Request, identity: Identity) -> None:
    """403 unless a state-changing cookie request carries its session's CSRF token."""
    if identity.source != "session" or request.method in SAFE_METHODS:
        return
    check_origin(request)
    # Compared as bytes: compare_digest refuses non-ASCII str (a header may hold any byte).
    sent = request.headers.get(CSRF_HEADER, "").encode("latin-1")
    if not identity.csrf_token or not hmac.compare_digest(sent, identity.csrf_token.encode()):
        raise HTTPException(403, CSRF_MESSAGE)

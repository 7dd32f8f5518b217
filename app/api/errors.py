"""Exceptions raised below the routes, turned into the answers OpenAPI documents."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from app.api.validation import validation_failed

log = logging.getLogger("corral")

from app.capacity import CapacityExceeded
from app.user_limits import UserLimitExceeded


async def capacity_exceeded(_: Request, exc: Exception) -> JSONResponse:
    """429 with Retry-After: requests never queue without bound (app/capacity.py)."""
    assert isinstance(exc, CapacityExceeded)
    return JSONResponse(
        {"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after_s)}
    )


async def user_limit_exceeded(_: Request, exc: Exception) -> JSONResponse:
    """429 with Retry-After naming the per-user limit reached (app/user_limits.py)."""
    assert isinstance(exc, UserLimitExceeded)
    return JSONResponse({"detail": str(exc)}, status_code=429,
                        headers={"Retry-After": str(exc.retry_after_s)})


async def database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    """503 with Retry-After when the database cannot be reached (or SQLite is locked):
    the request may succeed later, so it is not a 500. Operators see why in the log
    and on /readyz; the analyst gets one plain sentence."""
    log.warning("database unavailable: %s", str(exc).splitlines()[0][:300] if str(exc) else exc)
    return JSONResponse(
        {"detail": "The database is unavailable right now; try again in a few seconds."},
        status_code=503, headers={"Retry-After": "5"},
    )


async def http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's answer to an HTTPException, with a correct Allow on 405 (below)."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return method_not_allowed(request, exc)
    return await http_exception_handler(request, exc)


def method_not_allowed(request: Request, exc: HTTPException) -> JSONResponse:
    """405 whose Allow lists every method of the path: Starlette names only those of
    the first route that matched, and GET and DELETE of one path are two routes. The
    methods come from the OpenAPI document, the same list clients are given."""
    methods: set[str] = set()
    for template, ops in request.app.openapi()["paths"].items():
        if _template(template).fullmatch(request.url.path):
            methods |= {m.upper() for m in ops}
    allow = ", ".join(sorted(methods)) or (exc.headers or {}).get("Allow", "")
    return JSONResponse({"detail": exc.detail}, status_code=405, headers={"Allow": allow})


@lru_cache(maxsize=64)
def _template(path: str) -> re.Pattern[str]:
    """/api/conversations/{conversation_id} -> a regex matching concrete paths."""
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


# Exception -> handler, for FastAPI(exception_handlers=...).
HANDLERS: dict[Any, Any] = {
    RequestValidationError: validation_failed,
    HTTPException: http_error,
    CapacityExceeded: capacity_exceeded,
    UserLimitExceeded: user_limit_exceeded,
    OperationalError: database_unavailable,
}

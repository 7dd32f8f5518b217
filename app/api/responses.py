"""The error answers routes declare in OpenAPI, one entry per status, so each route
lists exactly the statuses it can give (docs/api.md is generated from them)."""

from __future__ import annotations

from typing import Any

from app.models import ErrorMessage, ValidationFailed

_TEXT = {
    400: "The JSON body is not UTF-8 text.",
    401: "No valid credentials: sign in, or send `Authorization: Bearer <token>`.",
    403: "Signed in, but not allowed (the message names what is missing), or a cookie "
         "request without its CSRF token or from another origin.",
    404: "It does not exist (or is another user's): the conversation, token or user.",
    409: "Conflicts with what exists: the username is taken, or the change would leave no "
         "enabled admin.",
    413: "The body is larger than the server accepts.",
    422: "A field is missing or invalid; `loc` names it.",
    429: "Every sandbox is busy, or a per-user limit is reached (`detail` names it); "
         "retry after Retry-After seconds.",
    503: "The database is unavailable; retry after Retry-After seconds.",
}

RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.",
                               "schema": {"type": "integer", "minimum": 1}}}


WWW_AUTHENTICATE = {"WWW-Authenticate": {"description": "`Bearer`: how to authenticate.",
                                         "schema": {"type": "string"}}}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that can answer these error statuses."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        model = ValidationFailed if status == 422 else ErrorMessage
        entry: dict[str, Any] = {"model": model, "description": _TEXT[status]}
        if status in (429, 503):
            entry["headers"] = RETRY_AFTER
        if status == 401:
            entry["headers"] = WWW_AUTHENTICATE
        out[status] = entry
    return out

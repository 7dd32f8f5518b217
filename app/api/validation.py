"""422 and 413 answers. Every validation error echoes the offending input, and an
input can hold text that UTF-8 cannot carry (a lone surrogate escaped in JSON), so
inputs are made printable before they are sent back: the answer is a 422, never a 500.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The largest body a client may send: a 100 000-character program written as \uXXXX
# escapes is 600 kB, so 1 MiB never refuses a valid request.
MAX_BODY_BYTES = 1024 * 1024


def field_error(field: str, message: str, value: Any) -> HTTPException:
    """A 422 in FastAPI's validation shape, for checks that depend on the settings."""
    return HTTPException(
        422, [{"loc": ["body", field], "msg": message, "type": "value_error", "input": value}]
    )


def printable(value: Any) -> Any:
    """`value` with every string encodable as UTF-8 (surrogates become \\udxxx text,
    undecodable bytes \\xNN text)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {printable(k): printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [printable(v) for v in value]
    return value


async def validation_failed(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    issues = []
    for err in exc.errors():
        issue = {k: err[k] for k in ("loc", "msg", "type", "input") if k in err}
        if err.get("ctx"):  # e.g. {"error": ValueError(...)}: objects become their text
            issue["ctx"] = {k: v if isinstance(v, str | int | float | bool | None) else str(v)
                            for k, v in err["ctx"].items()}
        issues.append(jsonable_encoder(printable(issue)))
    return JSONResponse({"detail": issues}, status_code=422)


class BodyLimit:
    """413 for a body over MAX_BODY_BYTES, by Content-Length or counted as it streams."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if length.isdigit() and int(length) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise HTTPException(413, self._detail())
            return message

        await self.app(scope, counted, send)

    def _detail(self) -> str:
        return f"The request body is larger than {self.max_bytes} bytes; send less."

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"detail": self._detail()}, status_code=413)
        await response(scope, receive, send)

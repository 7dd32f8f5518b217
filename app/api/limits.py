"""413 for request bodies over MAX_BODY_BYTES, checked before any route reads them."""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The largest body a client may send: a 100 000-character program written as \uXXXX
# escapes is 600 kB, so 1 MiB never refuses a valid request.
MAX_BODY_BYTES = 1024 * 1024


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

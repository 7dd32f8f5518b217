"""Exceptions raised below the routes, turned into the answers OpenAPI documents."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from app.capacity import CapacityExceeded


async def capacity_exceeded(_: Request, exc: Exception) -> JSONResponse:
    """429 with Retry-After: requests never queue without bound (app/capacity.py)."""
    assert isinstance(exc, CapacityExceeded)
    return JSONResponse(
        {"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after_s)}
    )

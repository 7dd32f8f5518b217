"""422 answers. Every validation error echoes the offending input, and an input can
hold text that UTF-8 cannot carry (a lone surrogate escaped in JSON), so inputs are
made printable before they are sent back: the answer is a 422, never a 500.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def field_error(field: str, message: str, value: Any) -> HTTPException:
    """A 422 in FastAPI's validation shape, for checks that depend on the settings."""
    return HTTPException(
        422, [{"loc": ["body", field], "msg": message, "type": "value_error", "input": value}]
    )


def printable(value: Any) -> Any:
    """`value` as strict JSON can carry it: strings encodable as UTF-8 (surrogates become
    \\udxxx text, undecodable bytes \\xNN text), NaN and Infinity (Python's JSON parser
    takes them) as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
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

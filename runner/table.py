"""The table a run answers with, and the conversion of every cell to a JSON value.

Rules (the UI and the agent server rely on them): dates, times and timestamps
become ISO 8601 strings; intervals ISO 8601 durations; Decimal becomes float;
NaN, NaT and +-inf become null; bytes become a hex string; UUIDs strings;
nested values (lists, structs, maps) become their JSON text.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

# Kept to cheap standard modules (no dataclasses, decimal or uuid imports): the
# runner starts once per query. Decimal and UUID are recognised without them.


class Table:
    def __init__(self, columns: list[dict[str, str]], rows: list[list[Any]] | None = None,
                 truncated: bool = False):
        self.columns = columns  # [{"name": ..., "type": DuckDB type name}]
        self.rows = rows or []
        self.truncated = truncated


def iso_duration(delta: dt.timedelta) -> str:
    sign = "-" if delta < dt.timedelta(0) else ""
    delta = abs(delta)
    seconds = delta.seconds + delta.microseconds / 1_000_000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    secs_text = f"{secs:.6f}".rstrip("0").rstrip(".")
    return f"{sign}P{delta.days}DT{int(hours)}H{int(minutes)}M{secs_text}S"


def _nested(value: Any) -> Any:
    """A nested value made of JSON-safe parts (for its JSON text)."""
    if isinstance(value, dict):
        return {str(k): _nested(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_nested(v) for v in value]
    return json_value(value)


def json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    kind = type(value).__name__
    if kind == "Decimal":
        return float(value) if value.is_finite() else None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return iso_duration(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if kind == "UUID":
        return str(value)
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        return json.dumps(_nested(value), ensure_ascii=False)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return json_value(item())
        except (TypeError, ValueError):
            pass
    if kind in ("NaTType", "NAType"):  # pandas missing values
        return None
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    return str(value)


def json_rows(rows: list[tuple]) -> list[list[Any]]:
    return [[json_value(v) for v in row] for row in rows]

"""The table a run answers with, and the conversion of every cell to a JSON value.

The rule (the UI, the agent server and runner/schema.json rely on it): every cell
is a JSON scalar (null, boolean, number or string), converted as follows.

| value                                   | becomes                                      |
|-----------------------------------------|----------------------------------------------|
| None, NaN, +-Infinity, NaT, pd.NA       | null                                         |
| bool, numpy bool                        | true / false                                 |
| int, numpy int (within BIGINT)          | number; beyond BIGINT: its decimal text      |
| float, numpy float (finite)             | number                                       |
| Decimal (finite)                        | number (float); NaN/Infinity: null           |
| complex, numpy complex                  | text, Python's form: "(1+2j)"                |
| str                                     | text; lone surrogates become U+FFFD          |
| bytes, bytearray, memoryview            | lowercase hex text                           |
| date, datetime, time, pd.Timestamp      | ISO 8601 text                                |
| timedelta, pd.Timedelta                 | ISO 8601 duration text ("P1DT2H0M0S")        |
| UUID                                    | its text                                     |
| dict, list, tuple, set (nested)         | JSON text, nested values by this same rule   |
| any other object (numpy scalars first   | `.item()` if it has one, else its `str()`    |
|   unwrapped, pandas Period/Interval...) |   (cut to MAX_TEXT_CHARS with a note)        |

Column names are text by the same rule, cut to MAX_NAME_CHARS and made unique.
Values are converted by the runner, never trusted to a library's own encoder; the
result JSON as a whole is then capped by max_output_bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

# Kept to cheap standard modules (no dataclasses, decimal or uuid imports): the
# runner starts once per query. Decimal and UUID are recognised without them.


MAX_NAME_CHARS = 256  # column names and type names (runner/schema.json says the same)
MAX_TEXT_CHARS = 100_000  # one text cell made from an object's str()
NESTING = 32  # deeper nested values are cut: their JSON text says so


def text(value: str, limit: int = MAX_TEXT_CHARS) -> str:
    """`value` as text JSON can carry: lone surrogates replaced, cut to `limit` characters."""
    if not isinstance(value, str):
        value = str(value)
    if _has_surrogate(value):
        value = re.sub("[\ud800-\udfff]", "\ufffd", value)
    if len(value) > limit:
        note = f"... [{len(value) - limit} more characters]"
        value = value[: max(limit - len(note), 0)] + note
    return value


def _has_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


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


def _nested(value: Any, depth: int = 0) -> Any:
    """A nested value made of JSON-safe parts (for its JSON text)."""
    if depth > NESTING and isinstance(value, (dict, list, tuple, set, frozenset)):
        return f"[nested deeper than {NESTING} levels]"
    if isinstance(value, dict):
        return {text(k, MAX_NAME_CHARS): _nested(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_nested(v, depth + 1) for v in value]
    return json_value(value)


def json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return bool(value) if value is not None else None
    if isinstance(value, str):
        return text(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, complex):
        return str(value)
    kind = type(value).__name__
    if kind in ("NaTType", "NAType"):  # pandas missing values (NaT passes for a datetime)
        return None
    if kind == "Decimal":
        number = float(value) if value.is_finite() else math.nan
        return number if math.isfinite(number) else None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return iso_duration(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if kind == "UUID":
        return str(value)
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        return text(json.dumps(_nested(value), ensure_ascii=False, allow_nan=False))
    if type(value).__module__ == "numpy":  # numpy scalars: the Python value inside
        try:
            return json_value(value.item())
        except (TypeError, ValueError, AttributeError):
            pass
    try:
        return text(str(value))
    except Exception:  # noqa: BLE001 - an object whose __str__ fails is still a cell
        return f"<{text(kind, MAX_NAME_CHARS)} object>"


def json_rows(rows: list[tuple]) -> list[list[Any]]:
    return [[json_value(v) for v in row] for row in rows]

"""Python mode's answer: what the code left in `result`, made into a table the runner controls.

The code's object is untrusted: a DataFrame subclass can lie about its length and
its head, a list subclass about its items, a cell can be any Python object. So the
runner first copies it into exact builtin/pandas types (`materialise`), counts and
cuts rows on that copy only, refuses a table wider than max_columns before any
per-cell work, and converts every cell by the rule in runner/table.py (cells that
DuckDB cannot type are made JSON-safe first, by the same rule).
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from runner.errors import RunFailure
from runner.table import MAX_NAME_CHARS, Table, json_rows, json_value, text

EXAMPLE = "result = penguins.groupby('species', as_index=False)['body_mass_g'].mean()"
SCALARS = (str, int, float, bool, complex, bytes, bytearray, decimal.Decimal, dt.date, dt.time,
           dt.timedelta, uuid.UUID, np.generic, type(None))
# Column kinds DuckDB reads from a DataFrame as they are; any other column is made
# JSON-safe cell by cell first (numpy: bool, int, uint, float, datetime, timedelta).
# Text columns are not among them: a lone surrogate in a str makes DuckDB fail.
NATIVE_KINDS = "biufMm"
NATIVE_EXTENSIONS = (pd.DatetimeTZDtype, pd.BooleanDtype,
                     pd.core.arrays.integer.IntegerDtype, pd.core.arrays.floating.Float64Dtype,
                     pd.core.arrays.floating.Float32Dtype)
# Values DuckDB types well when a column holds nothing else (besides None).
DUCKDB_CELLS = (bool, int, float, str, dt.datetime, dt.date, dt.time, dt.timedelta, uuid.UUID)
INT64 = (-(2**63), 2**63 - 1)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, SCALARS) or value is pd.NaT or value is pd.NA


def _no_result(message: str) -> RunFailure:
    return RunFailure("error", "no_result", message)


def materialise(result: Any) -> pd.DataFrame:
    """An exact pd.DataFrame built from copies of `result` in builtin types, or RunFailure."""
    try:
        frame = _to_frame(result)
    except RunFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of the code's object is the code's
        raise _no_result(f"`result` could not be read as a table ({type(exc).__name__}: "
                         f"{text(str(exc), 300)})") from None
    if type(frame) is not pd.DataFrame:
        raise _no_result(f"`result` became a {type(frame).__name__}, not a table")
    return frame


def _to_frame(result: Any) -> pd.DataFrame:
    if isinstance(result, pd.DataFrame):
        return pd.DataFrame._from_mgr(*_data_of(result))
    if isinstance(result, pd.Series):
        series = pd.Series._from_mgr(*_data_of(result))
        name = vars(result).get("_name")
        return series.to_frame(name=name if name is not None else "result")
    if isinstance(result, dict):
        return _from_dict(dict(result))
    if isinstance(result, (list, tuple)):
        return _from_list(list(result))
    if isinstance(result, np.ndarray):
        array = np.asarray(result)  # the base class, not a subclass
        return pd.DataFrame(array if array.ndim == 2 else {"result": array.ravel()})
    if _is_scalar(result):
        return pd.DataFrame({"result": [result]})
    raise _no_result(
        f"`result` is a {type(result).__name__}; assign a DataFrame, Series, list of dicts, "
        "dict of lists or a single value, e.g. " + EXAMPLE)


def _data_of(obj: Any) -> tuple[Any, Any]:
    """A deep copy of a pandas object's data, read from the instance itself: none of a
    subclass's overrides (__len__, head, iloc, a _mgr property) runs."""
    manager = vars(obj)["_mgr"].copy(deep=True)
    return manager, manager.axes


def _from_dict(record: dict[Any, Any]) -> pd.DataFrame:
    values = list(record.values())
    if values and all(_is_scalar(v) for v in values):
        return pd.DataFrame([record])  # one record
    columns = {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in record.items()}
    try:
        return pd.DataFrame(columns)
    except ValueError as exc:
        raise _no_result(f"`result` is a dict that is not a table: {text(str(exc), 300)}") from None


def _from_list(items: list[Any]) -> pd.DataFrame:
    if items and all(isinstance(i, dict) for i in items):
        return pd.DataFrame([dict(i) for i in items])
    if all(_is_scalar(i) for i in items):
        return pd.DataFrame({"result": items})
    return pd.DataFrame([list(i) if isinstance(i, (list, tuple)) else i for i in items])


def check_width(frame: pd.DataFrame, max_columns: int) -> None:
    width = frame.shape[1] + (0 if _plain_index(frame.index) else frame.index.nlevels)
    if width > max_columns:
        raise _no_result(
            f"`result` has {width} columns; at most {max_columns} are shown (MAX_COLUMNS). "
            "Select the columns you need, e.g. result = df[['a', 'b']]")


def _plain_index(index: pd.Index) -> bool:
    return (isinstance(index, pd.RangeIndex) and index.name is None and index.start == 0
            and index.step == 1)


def flatten(frame: pd.DataFrame) -> pd.DataFrame:
    """Index (when it carries data) becomes columns; column names become unique strings."""
    if not _plain_index(frame.index):
        frame = frame.reset_index()
    names, seen = [], set()
    for col in frame.columns:
        name = "_".join(str(p) for p in col if str(p)) if isinstance(col, tuple) else str(col)
        name = text(name, MAX_NAME_CHARS - 8)
        base, n = name or "column", 1
        while name in seen or not name:
            n += 1
            name = f"{base}_{n}"
        seen.add(name)
        names.append(name)
    frame = frame.copy(deep=False)
    frame.columns = names
    return frame


def frame_table(result: Any, max_rows: int, max_columns: int,
                con: duckdb.DuckDBPyConnection) -> Table:
    """The table for `result`: counted and cut on the runner's own copy, typed by DuckDB
    through a cursor of `con`, the run's connection."""
    frame = materialise(result)
    check_width(frame, max_columns)
    frame = flatten(frame)
    truncated = len(frame) > max_rows
    head = frame.iloc[:max_rows].reset_index(drop=True)
    for name in head.columns:
        if not _native(head[name].dtype):
            head[name] = _safe_column(head[name])
    columns, rows = _typed_rows(head, con)
    return Table(columns=columns, rows=rows, truncated=truncated)


def _native(dtype: Any) -> bool:
    if isinstance(dtype, np.dtype):
        return dtype.kind in NATIVE_KINDS
    return isinstance(dtype, NATIVE_EXTENSIONS)


def _safe_column(column: pd.Series) -> pd.Series:
    """Cells converted by the rule; kept as Python values when DuckDB can type them all."""
    original = column.astype(object).tolist()
    values = [_cell(v) for v in original]
    kinds = {type(v) for v in values if v is not None}
    if not kinds and any(v is not None for v in original):  # e.g. only NaN and Infinity
        return pd.Series([None] * len(values), dtype="float64", name=column.name)
    keep = len(kinds) == 1 and issubclass(kinds.pop(), DUCKDB_CELLS) or not kinds
    if not keep:  # mixed or unknown kinds: the JSON text of each value
        values = [v if v is None or isinstance(v, str) else _as_text(v) for v in values]
    return pd.Series(values, dtype=object, name=column.name)


def _cell(value: Any) -> Any:
    """One cell as a value DuckDB can read: the rule of runner/table.py, except that
    dates, times, intervals and UUIDs stay typed (DuckDB names their type)."""
    if isinstance(value, (dt.date, dt.time, dt.timedelta, uuid.UUID)) and not (
            value is pd.NaT):
        return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value
    if isinstance(value, int) and not isinstance(value, bool) and not (
            INT64[0] <= value <= INT64[1]):
        return str(value)  # beyond BIGINT: its exact decimal text
    return json_value(value)


def _as_text(value: Any) -> str:
    converted = json_value(value)
    return converted if isinstance(converted, str) else str(converted).lower() if isinstance(
        converted, bool) else str(converted)


def _typed_rows(head: pd.DataFrame, con: duckdb.DuckDBPyConnection,
                ) -> tuple[list[dict[str, str]], list[list[Any]]]:
    # A cursor, not a database of its own: opening one costs 15-20 ms of CPU (35-45 ms at
    # half a CPU) and 0.5 GB of address space, on the critical path of every Python run.
    # Reading a DataFrame needs no file, so the locked configuration does not get in the
    # way; and the user's code shares this process anyway, so a fresh database would
    # guard nothing the server's own checks of the result do not.
    reader = con.cursor()
    try:
        try:
            relation = reader.from_df(head)
        except (duckdb.Error, RuntimeError, TypeError, ValueError, OverflowError):
            # A column DuckDB still cannot read: every object column as text.
            head = head.apply(lambda s: s.map(lambda v: v if v is None else _as_text(v))
                              if s.dtype == object else s)
            relation = reader.from_df(head)
        columns = [{"name": n, "type": text(str(t), MAX_NAME_CHARS)}
                   for n, t in zip(relation.columns, relation.types)]
        return columns, json_rows(relation.fetchall())
    finally:
        reader.close()

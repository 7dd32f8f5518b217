"""Python mode: run the user's code with the datasets at hand; it must leave a table in `result`.

Pre-bound names: `penguins`, `gapminder`, `flights` (pandas DataFrames, loaded on
first use only, so code that never touches `flights` never pays for it),
`datasets` (the same, as a lazy mapping), `sql(query) -> DataFrame` (the same
locked DuckDB connection as SQL mode), `pd` and `np`.
"""

from __future__ import annotations

import builtins
import traceback
from collections.abc import Iterator, Mapping
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from runner import database
from runner.errors import RunFailure, RunTimeout
from runner.frame import EXAMPLE, frame_table
from runner.table import Table

USER_FILE = "<your code>"


class LazyDatasets(Mapping):
    """name -> DataFrame, each read from its DuckDB view the first time it is used."""

    def __init__(self, con: duckdb.DuckDBPyConnection, names: list[str]):
        self._con, self._names, self._loaded = con, names, {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._names:
            raise KeyError(f"{name!r} is not a dataset; the datasets are {self._names}")
        if name not in self._loaded:
            self._loaded[name] = self._con.sql(f"SELECT * FROM {name}").df()
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class _Builtins(dict):
    """Builtins that also answer the dataset names, so they load only when looked up.

    CPython looks a global up in the module dict, then in __builtins__; a dict
    subclass there has its __missing__ called for names found nowhere else.
    """

    def __init__(self, datasets: LazyDatasets):
        super().__init__(vars(builtins))
        self._datasets = datasets

    def __missing__(self, name: str) -> Any:
        if name in self._datasets:
            return self._datasets[name]
        raise KeyError(name)


def _make_sql(con: duckdb.DuckDBPyConnection):
    def sql(query: str) -> pd.DataFrame | None:
        """Run one SQL query over the datasets (same rules as SQL mode); return a DataFrame."""
        database.check_statements(con, query)
        relation = con.sql(query)
        return None if relation is None else relation.df()

    return sql


def _user_line(code: str, exc: BaseException) -> str:
    if isinstance(exc, SyntaxError) and exc.filename == USER_FILE:
        lineno = exc.lineno
    else:
        frames = [ln for f, ln in traceback.walk_tb(exc.__traceback__)
                  if f.f_code.co_filename == USER_FILE]
        lineno = frames[-1] if frames else None
    if not lineno:
        return ""
    lines = code.splitlines()
    source = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""
    return f" (line {lineno}: {source[:200]})" if source else f" (line {lineno})"


def _failure(code: str, exc: BaseException) -> RunFailure:
    if isinstance(exc, RunFailure):
        return exc
    if isinstance(exc, MemoryError):
        return RunFailure("oom", "oom", "the code ran out of memory" + _user_line(code, exc))
    if isinstance(exc, (duckdb.InterruptException, duckdb.OutOfMemoryException,
                        duckdb.PermissionException)):
        return database.sql_failure(exc)
    if isinstance(exc, SystemExit):
        return RunFailure("error", "python_error",
                          "the code called exit(); assign the answer to `result` instead")
    message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    name = type(exc).__name__
    return RunFailure("error", "python_error", f"{name}: {message}{_user_line(code, exc)}")


def run_python(con: duckdb.DuckDBPyConnection, names: list[str], code: str,
               max_rows: int, max_columns: int) -> Table:
    datasets = LazyDatasets(con, names)
    scope: dict[str, Any] = {
        "__name__": "__main__",
        "__builtins__": _Builtins(datasets),
        "datasets": datasets,
        "sql": _make_sql(con),
        "pd": pd,
        "np": np,
    }
    try:
        exec(compile(code, USER_FILE, "exec"), scope)  # noqa: S102 - running it is the point
    except RunTimeout:
        raise
    except BaseException as exc:  # noqa: BLE001 - every failure of user code is reported
        raise _failure(code, exc) from None
    if scope.get("result") is None:
        raise RunFailure(
            "error", "no_result",
            "the code did not assign a table to `result`: end it with e.g. " + EXAMPLE,
        )
    return frame_table(scope["result"], max_rows, max_columns, con)



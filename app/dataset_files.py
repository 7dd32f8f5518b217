"""Dataset files as DuckDB sees them: refuse bad ones with a clear reason, profile good
ones (types, nulls, ranges, low-cardinality values) and check them against the manifest.

Used by `corral datasets add` (which turns a profile into a manifest entry for a
person to review) and `corral datasets check`.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from app.catalog import json_value, view_sql

SUFFIXES = (".parquet", ".csv")
COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# Text columns with at most this many distinct values become value vocabulary.
LOW_CARDINALITY = 50
DEFAULT_MAX_BYTES = 4 * 1024**3
EXACT_DISTINCT_ROWS = 1_000_000


class DatasetFileError(Exception):
    """A file cannot become a table; the message names the file and the fix."""


@dataclass
class ColumnProfile:
    name: str
    type: str
    nulls: int
    distinct: int
    minimum: Any = None
    maximum: Any = None
    values: list[Any] = field(default_factory=list)  # low-cardinality text columns


@dataclass
class TableProfile:
    name: str
    file: Path
    row_count: int
    sha256: str
    columns: list[ColumnProfile]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def suggested_name(name: str) -> str:
    """"Body Mass (g)" -> "body_mass_g": a name that never needs quoting."""
    plain = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower() or "column"
    return plain if not plain[0].isdigit() else f"c_{plain}"


def raw_column_names(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """The names as written in the file (DuckDB renames duplicates, so read them raw)."""
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8", errors="replace") as fh:
            return next(csv.reader(fh), [])
    rows = con.execute("SELECT name FROM parquet_schema(?) WHERE num_children IS NULL "
                       "OR num_children = 0", [str(path)]).fetchall()
    return [r[0] for r in rows]


def _check_names(path: Path, names: list[str]) -> None:
    if not names:
        raise DatasetFileError(f"{path}: no columns; a table needs a header row and data")
    lowered = [n.lower() for n in names]
    dupes = sorted({n for n in names if lowered.count(n.lower()) > 1})
    if dupes:
        raise DatasetFileError(f"{path}: duplicate column names {', '.join(dupes)} "
                               "(names are compared without case); rename them")
    bad = [n for n in names if not COLUMN_NAME.match(n) or len(n) > 63]
    if bad:
        fixes = ", ".join(f"{n!r} -> {suggested_name(n)!r}" for n in bad)
        raise DatasetFileError(f"{path}: column names that need quoting in SQL: {fixes}; "
                               "rename them in the file")


def _check_file(path: Path, max_bytes: int) -> None:
    if not path.is_file():
        raise DatasetFileError(f"{path}: no such file")
    if path.suffix.lower() not in SUFFIXES:
        raise DatasetFileError(f"{path}: unsupported file type; use Parquet (.parquet) or "
                               "CSV with a header row (.csv)")
    size = path.stat().st_size
    if size == 0:
        raise DatasetFileError(f"{path}: the file is empty")
    if size > max_bytes:
        raise DatasetFileError(
            f"{path}: {size / 1024**3:.1f} GiB is above the limit of "
            f"{max_bytes / 1024**3:.1f} GiB (--max-bytes); sandboxes read every file of a "
            "dataset, so split or aggregate it first")


def open_table(con: duckdb.DuckDBPyConnection, name: str, path: Path,
               max_bytes: int = DEFAULT_MAX_BYTES) -> list[tuple[str, str]]:
    """Create the view `name` over `path` after the checks; (column, type) pairs."""
    _check_file(path, max_bytes)
    if not TABLE_NAME.match(name):
        raise DatasetFileError(f"{path}: the table name {name!r} must be a lower-case "
                               f"identifier, e.g. {suggested_name(name)!r}; rename the file")
    try:
        _check_names(path, raw_column_names(con, path))
        con.execute(view_sql(name, path))
        described = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {name}").fetchall()]
        rows = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise DatasetFileError(f"{path}: DuckDB cannot read it as "
                               f"{path.suffix[1:]}: {first}") from None
    except (UnicodeError, csv.Error) as exc:
        raise DatasetFileError(f"{path}: cannot read the header: {exc}") from None
    if rows == 0:
        raise DatasetFileError(f"{path}: the table has a header but no rows")
    return described


def _mixed(con: duckdb.DuckDBPyConnection, table: str, column: str) -> tuple[int, int, str]:
    """(numeric values, other values, an example of the others) of a text column."""
    ident = '"' + column.replace('"', '""') + '"'
    numeric, other, example = con.execute(
        f"SELECT count(*) FILTER (WHERE TRY_CAST({ident} AS DOUBLE) IS NOT NULL), "
        f"count(*) FILTER (WHERE {ident} IS NOT NULL AND TRY_CAST({ident} AS DOUBLE) IS NULL), "
        f"min({ident}) FILTER (WHERE TRY_CAST({ident} AS DOUBLE) IS NULL) FROM {table}"
    ).fetchone()
    return numeric, other, example


def profile_column(con: duckdb.DuckDBPyConnection, table: str, path: Path, column: str,
                   kind: str, approx: bool = False) -> ColumnProfile:
    ident = '"' + column.replace('"', '""') + '"'
    # Past EXACT_DISTINCT_ROWS an exact distinct count holds every value in memory (GBs);
    # HyperLogLog is within a few percent, and exact again when it finds few values.
    counter = "approx_count_distinct" if approx else "count(DISTINCT"
    nulls, distinct = con.execute(
        f"SELECT count(*) - count({ident}), {counter}({ident}){'' if approx else ')'} "
        f"FROM {table}").fetchone()
    if approx and distinct <= 2 * LOW_CARDINALITY:
        distinct = con.execute(f"SELECT count(DISTINCT {ident}) FROM {table}").fetchone()[0]
    p = ColumnProfile(column, kind, nulls, distinct)
    if kind == "VARCHAR":
        numeric, other, example = _mixed(con, table, column)
        if numeric and other and numeric >= other:
            raise DatasetFileError(
                f"{path}: column {column!r} mixes types: {numeric} numbers and {other} other "
                f"values (e.g. {example!r}); make the others empty (NULL) or all text")
        if distinct <= LOW_CARDINALITY:
            p.values = [r[0] for r in con.execute(
                f"SELECT DISTINCT {ident} FROM {table} WHERE {ident} IS NOT NULL ORDER BY 1"
            ).fetchall()]
    elif kind not in ("BOOLEAN", "BLOB"):
        low, high = con.execute(f"SELECT min({ident}), max({ident}) FROM {table}").fetchone()
        p.minimum, p.maximum = json_value(low), json_value(high)
    return p


def profile_table(con: duckdb.DuckDBPyConnection, name: str, path: Path,
                  max_bytes: int = DEFAULT_MAX_BYTES) -> TableProfile:
    described = open_table(con, name, path, max_bytes)
    rows = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    approx = rows > EXACT_DISTINCT_ROWS
    columns = [profile_column(con, name, path, c, t, approx) for c, t in described]
    return TableProfile(name, path, rows, sha256(path), columns)


def check_table(con: duckdb.DuckDBPyConnection, root: Path, name: str,
                spec: dict[str, Any]) -> list[str]:
    """What differs between a table's file and its manifest entry (empty: all agree)."""
    path = root / spec["file"]
    try:
        described = open_table(con, name, path, max_bytes=1 << 62)
    except DatasetFileError as exc:
        return [str(exc)]
    problems = []
    declared = [(c["name"], c["type"]) for c in spec["columns"]]
    if described != declared:
        problems.append(f"columns in the file {described} differ from the manifest {declared}")
    rows = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    if "row_count" in spec and rows != spec["row_count"]:
        problems.append(f"{rows} rows, the manifest says {spec['row_count']}")
    if "sha256" in spec and sha256(path) != spec["sha256"]:
        problems.append("sha256 differs from the manifest: the file changed")
    return problems

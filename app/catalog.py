"""The dataset catalog: what the manifest says plus what DuckDB sees in the files.

Loaded once at start-up and cached on the app. The agent server is trusted, so it
reads the Parquet files directly (read-only, in-memory DuckDB); user code never
runs here, only in sandboxes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

MANIFEST = "manifest.json"
SAMPLE_ROWS = 5
# Text columns with at most this many distinct values go into the value index, so
# the offline planner can recognise "Adelie", "Europe" or "JFK" in a question.
VALUE_INDEX_MAX_DISTINCT = 500
NUMERIC_TYPES = re.compile(r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|"
                           r"UINTEGER|UBIGINT|FLOAT|REAL|DOUBLE|DECIMAL.*)$")


class CatalogError(Exception):
    """The manifest or a dataset file is missing or unreadable; the message says which."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str

    @property
    def is_numeric(self) -> bool:
        return bool(NUMERIC_TYPES.match(self.type.upper()))

    @property
    def is_text(self) -> bool:
        return self.type.upper() == "VARCHAR"


@dataclass
class Dataset:
    name: str
    description: str
    row_count: int
    license: str
    file: Path
    columns: list[Column]
    sample_columns: list[dict[str, str]]
    sample_rows: list[list[Any]]
    # column -> distinct values (low-cardinality text columns and integer years)
    values: dict[str, list[Any]] = field(default_factory=dict)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def public(self) -> dict[str, Any]:
        """The Dataset object of docs/api.md."""
        return {
            "name": self.name,
            "description": self.description,
            "row_count": self.row_count,
            "license": self.license,
            "columns": [
                {"name": c.name, "type": c.type, "description": c.description}
                for c in self.columns
            ],
            "sample": {"columns": self.sample_columns, "rows": self.sample_rows},
        }


def json_value(v: Any) -> Any:
    """A DuckDB value as plain JSON (NaN -> null, dates -> ISO text)."""
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return float(v)
    return v


class Catalog:
    def __init__(self, datasets: list[Dataset]) -> None:
        self.datasets = {d.name: d for d in datasets}

    @property
    def names(self) -> list[str]:
        return list(self.datasets)

    def get(self, name: str) -> Dataset | None:
        return self.datasets.get(name)

    def public(self) -> list[dict[str, Any]]:
        return [d.public() for d in self.datasets.values()]


def _manifest_entries(path: Path) -> list[dict[str, Any]]:
    manifest = path / MANIFEST
    if not manifest.is_file():
        raise CatalogError(
            f"DATASETS_PATH: no {MANIFEST} in {path}; point DATASETS_PATH at the folder "
            "holding the datasets (the repository's datasets/ or /data in the images)"
        )
    try:
        data = json.loads(manifest.read_text())
    except (OSError, ValueError) as exc:
        raise CatalogError(f"DATASETS_PATH: cannot read {manifest}: {exc}") from None
    entries = data.get("datasets", data) if isinstance(data, dict) else data
    if isinstance(entries, dict):
        entries = [{"name": k, **v} for k, v in entries.items()]
    if not isinstance(entries, list) or not entries:
        raise CatalogError(f"DATASETS_PATH: {manifest} lists no datasets")
    return entries


def load_catalog(path: Path) -> Catalog:
    """Read the manifest and the Parquet files under `path`."""
    con = duckdb.connect(":memory:")
    try:
        return Catalog([_load_one(con, path, e) for e in _manifest_entries(path)])
    finally:
        con.close()


def _load_one(con: duckdb.DuckDBPyConnection, root: Path, entry: dict[str, Any]) -> Dataset:
    name = entry["name"]
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise CatalogError(f"DATASETS_PATH: dataset name {name!r} is not a plain identifier")
    file = root / entry.get("file", f"{name}.parquet")
    if not file.is_file():
        raise CatalogError(f"DATASETS_PATH: {file} (dataset {name}) is missing")
    quoted_file = str(file).replace("'", "''")
    con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{quoted_file}')")
    described = con.execute(f"DESCRIBE {name}").fetchall()
    meanings = {c["name"]: c.get("meaning") or c.get("description") or ""
                for c in entry.get("columns", [])}
    columns = [Column(row[0], row[1], meanings.get(row[0], "")) for row in described]

    cur = con.execute(f"SELECT * FROM {name} LIMIT {SAMPLE_ROWS}")
    sample_columns = [{"name": c.name, "type": c.type} for c in columns]
    sample_rows = [[json_value(v) for v in row] for row in cur.fetchall()]
    row_count = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]

    values: dict[str, list[Any]] = {}
    for c in columns:
        ident = f'"{c.name}"'
        if c.is_text or (c.name.lower() == "year" and c.is_numeric):
            n = con.execute(f"SELECT count(DISTINCT {ident}) FROM {name}").fetchone()[0]
            if n <= VALUE_INDEX_MAX_DISTINCT:
                rows = con.execute(
                    f"SELECT DISTINCT {ident} FROM {name} WHERE {ident} IS NOT NULL ORDER BY 1"
                ).fetchall()
                values[c.name] = [r[0] for r in rows]
    return Dataset(
        name=name,
        description=entry.get("description", ""),
        row_count=int(entry.get("row_count", row_count)),
        license=entry.get("license", ""),
        file=file,
        columns=columns,
        sample_columns=sample_columns,
        sample_rows=sample_rows,
        values=values,
    )

"""The dataset catalog: what the manifest says plus what DuckDB sees in the files.

Loaded once at start-up and cached on the app. Every fact about a dataset (tables,
column meanings, synonyms, value aliases, keys, example questions) comes from the
manifest (app/manifest.schema.json); nothing about a particular dataset lives in
code. The agent server is trusted, so it reads the files directly (read-only,
in-memory DuckDB); user code never runs here, only in sandboxes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from app.manifest import ManifestError, load
from app.visibility import Audience, audience
from runner.database import READERS

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
    unit: str = ""
    synonyms: tuple[str, ...] = ()
    weak_synonyms: tuple[str, ...] = ()
    value_aliases: tuple[tuple[str, Any], ...] = ()
    prepositions: tuple[str, ...] = ()
    null_phrases: tuple[str, ...] = ()
    condition_phrases: tuple[tuple[str, str], ...] = ()  # ("arrived late", "> 0")
    # A derived column (the table's "derived" entries): the DuckDB expression over the
    # table's columns that computes it; empty for a column of the file.
    expression: str = ""

    @property
    def is_numeric(self) -> bool:
        return bool(NUMERIC_TYPES.match(self.type.upper()))

    @property
    def is_text(self) -> bool:
        return self.type.upper() == "VARCHAR"


@dataclass
class Table:
    name: str
    description: str
    file: Path
    row_count: int
    columns: list[Column]
    nouns: tuple[str, ...] = ()
    row_noun: str = "rows"
    # column -> distinct values (low-cardinality text columns and integer years)
    values: dict[str, list[Any]] = field(default_factory=dict)
    derived: list[Column] = field(default_factory=list)  # computed columns, asked like columns
    _sample: list[list[Any]] | None = field(default=None, repr=False)

    @property
    def sample_rows(self) -> list[list[Any]]:
        """The first rows, read on first use: start-up with many tables reads none."""
        if self._sample is None:
            con = duckdb.connect(":memory:")
            try:
                con.execute(view_sql(self.name, self.file))
                rows = con.execute(f"SELECT * FROM {self.name} LIMIT {SAMPLE_ROWS}").fetchall()
            finally:
                con.close()
            self._sample = [[json_value(v) for v in row] for row in rows]
        return self._sample

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "row_count": self.row_count,
            "columns": [{"name": c.name, "type": c.type, "description": c.description}
                        for c in self.columns],
        }


@dataclass(frozen=True)
class Key:
    """flights.carrier -> airlines.carrier: many rows of `table` to one row of `other`
    (several columns for a composite key)."""
    table: str
    columns: tuple[str, ...]
    other: str
    other_columns: tuple[str, ...]
    prepositions: tuple[str, ...] = ()

    def public(self) -> dict[str, list[str]]:
        return {"from": [f"{self.table}.{c}" for c in self.columns],
                "to": [f"{self.other}.{c}" for c in self.other_columns]}


@dataclass
class Dataset:
    name: str
    title: str
    description: str
    license: str
    tables: list[Table]
    keys: list[Key]
    nouns: tuple[str, ...]
    canonical_question: str
    examples: list[str]
    visible_to: Audience | None = None  # None: every user (app/visibility.py)

    @property
    def main(self) -> Table:
        """The first table: the one questions are mostly about."""
        return self.tables[0]

    # The main table's view, for code that thinks of a dataset as one table.
    @property
    def columns(self) -> list[Column]:
        return self.main.columns

    @property
    def values(self) -> dict[str, list[Any]]:
        return self.main.values

    @property
    def row_count(self) -> int:
        return self.main.row_count

    def column(self, name: str) -> Column | None:
        return self.main.column(name)

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)

    def public(self) -> dict[str, Any]:
        """The Dataset object of docs/api.md (the main table's columns and sample, plus
        every table and key)."""
        main = self.main
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "row_count": main.row_count,
            "license": self.license,
            "columns": main.public()["columns"],
            "sample": {"columns": [{"name": c.name, "type": c.type} for c in main.columns],
                       "rows": main.sample_rows},
            "tables": [t.public() for t in self.tables],
            "keys": [k.public() for k in self.keys],
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
    def __init__(self, datasets: list[Dataset], restricted: bool = False) -> None:
        self.datasets = {d.name: d for d in datasets}
        # True for one user's view that leaves datasets out (app/visibility.py): the
        # runner is then told which tables it may open.
        self.restricted = restricted

    @property
    def names(self) -> list[str]:
        return list(self.datasets)

    @property
    def table_names(self) -> list[str]:
        """Every table of every dataset: the views a sandbox sees and the guard allows."""
        return [t.name for d in self.datasets.values() for t in d.tables]

    def get(self, name: str) -> Dataset | None:
        return self.datasets.get(name)

    def owner(self, table: str) -> Dataset | None:
        """The dataset a table belongs to."""
        return next((d for d in self.datasets.values() if d.table(table)), None)

    def public(self) -> list[dict[str, Any]]:
        return [d.public() for d in self.datasets.values()]


def view_sql(name: str, file: Path) -> str:
    """CREATE VIEW for one table file, read exactly as the runner reads it."""
    quoted = str(file).replace("'", "''")
    return f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {READERS[file.suffix].format(quoted)}"


def load_catalog(path: Path) -> Catalog:
    """Read and validate the manifest under `path`, then look at every table's file."""
    try:
        manifest = load(path)
    except ManifestError as exc:
        raise CatalogError(f"DATASETS_PATH: {exc}") from None
    con = duckdb.connect(":memory:")
    try:
        return Catalog([_dataset(con, path, name, entry)
                        for name, entry in manifest["datasets"].items()])
    finally:
        con.close()


def _dataset(con: duckdb.DuckDBPyConnection, root: Path, name: str,
             entry: dict[str, Any]) -> Dataset:
    tables = [_table(con, root, name, table, spec) for table, spec in entry["tables"].items()]
    keys = [_key(key) for key in entry.get("keys", [])]
    return Dataset(
        name=name, title=entry["title"], description=entry["description"],
        license=entry["license"], tables=tables, keys=keys,
        nouns=tuple(entry.get("nouns", [])), canonical_question=entry["canonical_question"],
        examples=list(entry["example_questions"]), visible_to=audience(entry),
    )


def key_columns(end: str | list[str]) -> tuple[str, tuple[str, ...]]:
    """"flights.carrier" or ["flights.origin", "flights.time_hour"] -> (table, columns)."""
    refs = [end] if isinstance(end, str) else end
    return refs[0].split(".", 1)[0], tuple(r.split(".", 1)[1] for r in refs)


def _key(key: dict[str, Any]) -> Key:
    table, columns = key_columns(key["from"])
    other, other_columns = key_columns(key["to"])
    return Key(table, columns, other, other_columns, tuple(key.get("prepositions", [])))


def _column(described: tuple[Any, ...], spec: dict[str, Any]) -> Column:
    return Column(
        name=described[0], type=described[1], description=spec.get("meaning", ""),
        unit=spec.get("unit", ""), synonyms=tuple(spec.get("synonyms", [])),
        weak_synonyms=tuple(spec.get("weak_synonyms", [])),
        value_aliases=tuple(spec.get("value_aliases", {}).items()),
        prepositions=tuple(spec.get("prepositions", [])),
        null_phrases=tuple(spec.get("null_phrases", [])),
        condition_phrases=tuple(spec.get("condition_phrases", {}).items()),
        expression=spec.get("expression", ""),
    )


def _derived(con: duckdb.DuckDBPyConnection, where: str, name: str, file: Path,
             specs: list[dict[str, Any]]) -> list[Column]:
    """The table's derived columns, each expression tried against the file's columns so
    a typo fails at start-up, naming the column, not at the first question."""
    derived = []
    for spec in specs:
        try:
            con.execute(view_sql(name, file))
            con.execute(f"DESCRIBE SELECT {spec['expression']} FROM {name}")
        except duckdb.Error as exc:
            raise CatalogError(f"{where}, derived column {spec['name']!r}, field 'expression': "
                               f"{exc}") from None
        derived.append(_column((spec["name"], spec["type"]), spec))
    return derived


def _measured(spec: dict[str, Any]) -> bool:
    """Everything start-up needs is in the manifest (what `corral datasets add` writes)."""
    return "row_count" in spec and all("profile" in c for c in spec["columns"])


def _table(con: duckdb.DuckDBPyConnection, root: Path, dataset: str, name: str,
           spec: dict[str, Any]) -> Table:
    where = f"DATASETS_PATH: dataset {dataset!r}, table {name!r}"
    file = root / spec["file"]
    if not file.is_file():
        raise CatalogError(f"{where}: the file {file} is missing")
    specs = {c["name"]: c for c in spec["columns"]}
    if _measured(spec):
        # Trust the measured manifest; `corral datasets check` compares it with the file.
        columns = [_column((c["name"], c["type"]), c) for c in spec["columns"]]
        values = {c["name"]: c["profile"]["values"] for c in spec["columns"]
                  if "values" in c["profile"]}
    else:
        columns = [_column(row, specs.get(row[0], {})) for row in _describe(con, where, name, file)]
        missing = sorted(set(specs) - {c.name for c in columns})
        if missing:
            raise CatalogError(f"{where}, field 'columns': {', '.join(missing)} not in "
                               f"{file.name}")
        values = _value_index(con, name, columns, specs)
    row_count = spec.get("row_count") or con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    return Table(
        name=name, description=spec.get("description", ""), file=file,
        row_count=int(row_count), columns=columns, nouns=tuple(spec.get("nouns", [])),
        row_noun=spec.get("row_noun", "rows"), values=values,
        derived=_derived(con, where, name, file, spec.get("derived", [])),
    )


def _describe(con: duckdb.DuckDBPyConnection, where: str, name: str,
              file: Path) -> list[tuple[Any, ...]]:
    try:
        con.execute(view_sql(name, file))
        return con.execute(f"DESCRIBE {name}").fetchall()
    except duckdb.Error as exc:
        raise CatalogError(f"{where}: cannot read {file}: {exc}") from None


def _value_index(con: duckdb.DuckDBPyConnection, table: str, columns: list[Column],
                 specs: dict[str, dict[str, Any]]) -> dict[str, list[Any]]:
    values: dict[str, list[Any]] = {}
    for c in columns:
        if not (c.is_text or (c.name.lower() == "year" and c.is_numeric)):
            continue
        # A profile written by `corral datasets add` saves a scan per column at start-up.
        measured = specs.get(c.name, {}).get("profile", {})
        if "values" in measured:
            values[c.name] = measured["values"]
            continue
        if measured.get("distinct", 0) > VALUE_INDEX_MAX_DISTINCT:
            continue
        ident = '"' + c.name.replace('"', '""') + '"'
        n = con.execute(f"SELECT count(DISTINCT {ident}) FROM {table}").fetchone()[0]
        if n <= VALUE_INDEX_MAX_DISTINCT:
            rows = con.execute(
                f"SELECT DISTINCT {ident} FROM {table} WHERE {ident} IS NOT NULL ORDER BY 1"
            ).fetchall()
            values[c.name] = [r[0] for r in rows]
    return values

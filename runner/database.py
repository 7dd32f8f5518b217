"""The locked-down DuckDB connection both modes use, over read-only views of the datasets.

Order matters: the views are created first, then file access is narrowed to the
dataset files, external access switched off and the configuration locked, all
BEFORE any user code runs. After that, user SQL can read the datasets and
nothing else: no other files, no network, no extensions, no settings changes.
A statement filter in front of it refuses statement kinds that have no business
in a question about data (COPY, ATTACH, INSTALL/LOAD, SET, EXPORT, ...), so the
message a person sees is clear rather than a permission error.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from runner.errors import RunFailure
from runner.table import MAX_NAME_CHARS, text

# The `duckdb` package is a large Python layer over its compiled engine `_duckdb`;
# SQL mode needs only the engine, which imports in ~25 ms instead of ~150 ms, on
# the critical path of every query. Same classes either way (duckdb re-exports them).
try:
    import _duckdb as duckdb
except ImportError:  # a future wheel layout
    import duckdb

DEFAULT_DATA_DIR = "/data"
DEFAULT_MEMORY = "256MB"
NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
# How each kind of dataset file is read (app/manifest.schema.json); the agent's
# catalog reads them the same way (app/catalog.py imports this).
READERS = {".parquet": "read_parquet('{}')", ".csv": "read_csv('{}', header = true)"}

# Statement kinds a query may contain. CREATE/INSERT/... only touch the private
# in-memory database (files are out of reach), so they are harmless and useful.
ALLOWED_STATEMENTS = {
    "SELECT", "EXPLAIN", "CALL", "PRAGMA", "MULTI",
    "CREATE", "INSERT", "UPDATE", "DELETE", "DROP",
}
WHY_NOT = {
    "COPY": "COPY reads or writes files",
    "COPY_DATABASE": "COPY DATABASE writes files",
    "EXPORT": "EXPORT DATABASE writes files",
    "ATTACH": "ATTACH opens other databases",
    "DETACH": "DETACH changes the attached databases",
    "LOAD": "INSTALL/LOAD would add extensions",
    "EXTENSION": "extension statements would add extensions",
    "SET": "SET/RESET/USE change the configuration, which is locked",
    "VARIABLE_SET": "SET VARIABLE changes the session",
}


def data_dir() -> Path:
    return Path(os.environ.get("CORRAL_DATA_DIR") or DEFAULT_DATA_DIR)


def dataset_files(tables: str | None = None) -> dict[str, Path]:
    """table name -> file, for every table of every dataset in manifest.json in the data
    directory, or only those named in `tables` (the request's comma list: the datasets its
    user may see). The agent server validated the manifest; this reads only what it needs."""
    root = data_dir()
    manifest_path = root / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
        files = {table: root / spec["file"] for entry in manifest["datasets"].values()
                 for table, spec in entry["tables"].items()}
        if tables is not None:
            allowed = set(filter(None, tables.split(",")))
            files = {table: path for table, path in files.items() if table in allowed}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RunFailure(
            "unavailable", "sandbox_unavailable",
            f"the datasets are not readable: {manifest_path} ({exc}). Mount the datasets "
            "directory (manifest.json + its files) read-only there, or set CORRAL_DATA_DIR.",
        ) from exc
    for name, path in files.items():
        if not NAME_RE.match(name) or "'" in str(path) or not path.is_file() \
                or path.suffix not in READERS:
            raise RunFailure("unavailable", "sandbox_unavailable",
                             f"{manifest_path}: table {name!r} has no readable file {path}")
    return files


def connect(files: dict[str, Path]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config={
        "threads": 1,
        "memory_limit": os.environ.get("CORRAL_DUCKDB_MEMORY") or DEFAULT_MEMORY,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
        "temp_directory": "",  # never spill to disk: past memory_limit is an oom, not a slow disk
    })
    con.execute("SET TimeZone = 'UTC'")  # same answers on every host (an ICU setting)
    for name, path in files.items():
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM {READERS[path.suffix].format(path)}")
    # Exactly the dataset files stay readable (reading a file through a view needs it).
    con.execute("SET allowed_paths = $paths", {"paths": [str(p) for p in files.values()]})
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def check_statements(con: duckdb.DuckDBPyConnection, code: str) -> None:
    """Refuse the statement kinds a question about data never needs (see WHY_NOT)."""
    try:
        statements = con.extract_statements(code)
    except duckdb.Error as exc:
        raise sql_failure(exc) from None
    except ValueError as exc:  # a statement kind the Python client cannot even name
        raise RunFailure("error", "not_allowed",
                         f"this kind of statement is not allowed ({exc})") from None
    if not statements:
        raise RunFailure("error", "sql_error", "the query is empty: write one SELECT statement")
    for statement in statements:
        kind = statement.type.name
        if kind not in ALLOWED_STATEMENTS:
            why = WHY_NOT.get(kind, f"{kind} statements are not needed to query data")
            raise RunFailure(
                "error", "not_allowed",
                f"{kind} is not allowed: {why}. Only queries over the datasets can run.",
            )


def sql_failure(exc: BaseException) -> RunFailure:
    """A DuckDB error as a result a person can act on."""
    text = str(exc).strip()
    if isinstance(exc, duckdb.InterruptException):
        return RunFailure("timeout", "timeout", "the query was stopped at the time limit")
    if isinstance(exc, duckdb.OutOfMemoryException):
        return RunFailure("oom", "oom", f"the query ran out of memory: {text}. "
                          "Aggregate or filter more, or select fewer columns.")
    if isinstance(exc, duckdb.PermissionException):
        return RunFailure("error", "not_allowed", f"only the datasets can be read. {text}")
    return RunFailure("error", "sql_error", text)


def column_types(description: Any) -> list[dict[str, str]]:
    return [{"name": text(str(d[0]), MAX_NAME_CHARS), "type": text(str(d[1]), MAX_NAME_CHARS)}
            for d in description or []]

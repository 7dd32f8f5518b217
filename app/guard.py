"""The plan guard: refuse plans that are obviously not "one read-only query".

SQL is parsed with sqlglot (DuckDB dialect) and must be exactly one read-only
query (SELECT / WITH / UNION / VALUES ...) over the known datasets, with no
table functions or scalar functions that reach files, URLs, settings or the
environment. The guard makes refusals fast and readable; it is NOT the security
boundary. The sandbox is (no network, read-only /data, locked DuckDB config,
rlimits): anything that slips past here still runs inside it.
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Iterable

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

# Table functions that only compute (no I/O); every other table function is refused.
ALLOWED_TABLE_FUNCTIONS = {"range", "generate_series", "unnest"}
# Scalar/table function names (or prefixes) that read files, URLs, settings or the host.
FORBIDDEN_FUNCTION_PREFIXES = (
    "read_", "parquet_", "duckdb_", "pragma_", "sniff_", "glob", "getenv", "current_setting",
    "query", "iceberg_", "delta_", "sqlite_", "postgres_", "mysql_", "json_execute",
    "which_secret", "load_", "install_", "checkpoint", "force_checkpoint", "enable_",
    "disable_", "set_", "system", "shell", "http_", "file_",
)
# Node types that write, change configuration or reach outside, wherever they appear.
WRITE_NODES = (
    exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter,
    exp.Copy, exp.Attach, exp.Detach, exp.Pragma, exp.Set, exp.Command, exp.Use,
    exp.Install, exp.Describe, exp.Summarize, exp.Show, exp.Transaction, exp.Commit,
    exp.Rollback, exp.LoadData, exp.TruncateTable,
)
# Python modules a data question never needs. A screen only: see the module docstring.
PYTHON_SCREENED_MODULES = {
    "subprocess", "socket", "ctypes", "multiprocessing", "urllib", "http", "requests",
    "httpx", "pty", "shutil", "docker", "importlib",
}


# sqlglot logs a warning for every statement it falls back to parsing as a Command.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

_FIRST_WORD = re.compile(r"^\s*([A-Za-z]+)")
_NON_QUERY_KEYWORDS = {
    "ATTACH", "DETACH", "COPY", "EXPORT", "IMPORT", "INSTALL", "LOAD", "PRAGMA", "SET",
    "RESET", "CALL", "CREATE", "DROP", "ALTER", "INSERT", "UPDATE", "DELETE", "CHECKPOINT",
    "VACUUM", "USE", "BEGIN", "COMMIT", "ROLLBACK", "TRUNCATE", "MERGE", "UPSERT",
}


class GuardRejection(Exception):
    """The plan was refused; str(exc) is the message shown to the person."""


def _allowed_text(datasets: Iterable[str]) -> str:
    return f"only one read-only SELECT over {', '.join(datasets)} is allowed"


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower()


def _statement_keyword(stmt: exp.Expression) -> str:
    if isinstance(stmt, exp.Command):
        return str(stmt.this).upper()
    return stmt.key.upper()


def check_sql(sql: str, datasets: Iterable[str]) -> str:
    """Return the SQL unchanged when allowed; raise GuardRejection otherwise."""
    names = [d.lower() for d in datasets]
    allowed = _allowed_text(names)
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as exc:
        word = _FIRST_WORD.match(sql)
        if word and word.group(1).upper() in _NON_QUERY_KEYWORDS:
            raise GuardRejection(f"{allowed}; found: {word.group(1).upper()}") from None
        first = str(exc).splitlines()[0]
        raise GuardRejection(f"{allowed}; the SQL does not parse: {first}") from None
    except Exception:  # noqa: BLE001 - sqlglot raises TokenError & co. on garbage
        raise GuardRejection(f"{allowed}; the SQL does not parse") from None
    if not statements:
        raise GuardRejection(f"{allowed}; found no statement")
    if len(statements) > 1:
        kinds = ", ".join(_statement_keyword(s) for s in statements)
        raise GuardRejection(f"{allowed}; found {len(statements)} statements ({kinds})")
    stmt = statements[0]
    if not isinstance(stmt, exp.Query | exp.Values) or isinstance(stmt, exp.Pivot):
        raise GuardRejection(f"{allowed}; found: {_statement_keyword(stmt)}")
    for node in stmt.walk():
        if isinstance(node, WRITE_NODES):
            raise GuardRejection(f"{allowed}; found: {_statement_keyword(node)}")

    ctes = {c.alias_or_name.lower() for c in stmt.find_all(exp.CTE)}
    for table in stmt.find_all(exp.Table):
        target = table.this
        if isinstance(target, exp.Func):
            fname = _function_name(target)
            if fname not in ALLOWED_TABLE_FUNCTIONS:
                raise GuardRejection(
                    f"{allowed}; found the table function {fname}(), which may read files "
                    "or URLs"
                )
            continue
        if table.args.get("db") or table.args.get("catalog"):
            raise GuardRejection(f"{allowed}; found the qualified name {table.sql('duckdb')}")
        name = table.name.lower()
        if name not in names and name not in ctes:
            raise GuardRejection(f"{allowed}; found the unknown table {table.name!r}")

    for func in stmt.find_all(exp.Func):
        fname = _function_name(func)
        if fname.startswith(FORBIDDEN_FUNCTION_PREFIXES) and fname not in ALLOWED_TABLE_FUNCTIONS:
            raise GuardRejection(
                f"{allowed}; found the function {fname}(), which reads files, settings or the "
                "environment"
            )
    return sql


def check_python(code: str) -> str:
    """A light screen of Python plans: it must parse and must not import host-reaching
    modules. Deliberately shallow; the sandbox is the boundary."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise GuardRejection(
            f"the Python code does not parse: {exc.msg} (line {exc.lineno})"
        ) from None
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        for mod in modules:
            if mod.split(".")[0] in PYTHON_SCREENED_MODULES:
                raise GuardRejection(
                    f"Python plans may use the datasets, pandas and numpy only; found: import {mod}"
                )
    return code


def check_plan(language: str, code: str, datasets: Iterable[str]) -> str:
    if language == "sql":
        return check_sql(code, datasets)
    return check_python(code)

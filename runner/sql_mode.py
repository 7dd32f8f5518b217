"""SQL mode: run the query in the locked DuckDB connection and fetch at most max_rows rows."""

from __future__ import annotations

from runner import database
from runner.database import duckdb
from runner.errors import RunFailure
from runner.table import Table, json_rows


def run_sql(con: duckdb.DuckDBPyConnection, code: str, max_rows: int, max_columns: int) -> Table:
    database.check_statements(con, code)
    try:
        cursor = con.execute(code)  # several statements: DuckDB answers with the last one
        columns = database.column_types(cursor.description)
        if len(columns) > max_columns:  # before any row is fetched
            raise RunFailure(
                "error", "no_result",
                f"the query returns {len(columns)} columns; at most {max_columns} are shown "
                "(MAX_COLUMNS). Select the columns you need instead of *")
        # One row more than the cap tells us whether there were more.
        rows = cursor.fetchmany(max_rows + 1) if columns else []
    except duckdb.Error as exc:
        raise database.sql_failure(exc) from None
    return Table(columns=columns, rows=json_rows(rows[:max_rows]), truncated=len(rows) > max_rows)

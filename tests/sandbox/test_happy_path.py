"""Each dataset answers the right table through each sandbox (compared with DuckDB on the host)."""

from __future__ import annotations

import asyncio

import duckdb
import pytest
from sandbox_helpers import DATASETS, new_run_id, run

QUERIES = {
    "penguins": "SELECT species, count(*) AS n FROM penguins GROUP BY 1 ORDER BY 1",
    "gapminder": "SELECT continent, round(avg(lifeExp), 3) AS life FROM gapminder "
    "WHERE year = 2007 GROUP BY 1 ORDER BY 1",
    "flights": "SELECT origin, count(*) AS n FROM flights GROUP BY 1 ORDER BY 1",
}


def expected(dataset: str, query: str) -> list[list]:
    con = duckdb.connect()
    con.execute(
        f"CREATE VIEW {dataset} AS SELECT * FROM read_parquet('{DATASETS / dataset}.parquet')"
    )
    return [list(row) for row in con.sql(query).fetchall()]


@pytest.mark.parametrize("dataset", sorted(QUERIES))
async def test_sql_answers_the_right_table(sandbox, dataset):
    query = QUERIES[dataset]
    result = await run(sandbox, query, "sql")
    assert result["status"] == "ok", result["error"]
    assert result["rows"] == expected(dataset, query)
    assert result["rows"]  # not vacuously equal
    assert [c["name"] for c in result["columns"]] == [d[0] for d in duckdb.sql(
        query.replace(dataset, f"read_parquet('{DATASETS / dataset}.parquet')", 1)).description]


async def test_python_mode_answers_the_right_table(sandbox):
    code = "result = penguins.groupby('species', as_index=False).size()"
    result = await run(sandbox, code)
    assert result["status"] == "ok", result["error"]
    assert result["rows"] == expected("penguins", QUERIES["penguins"])


async def test_max_rows_truncates(sandbox):
    result = await run(sandbox, "SELECT * FROM flights", "sql", max_rows=7)
    assert result["status"] == "ok", result["error"]
    assert result["row_count"] == 7 and result["truncated"] is True


async def test_user_errors_come_back_as_errors(sandbox):
    result = await run(sandbox, "SELECT nope FROM penguins", "sql")
    assert result["status"] == "error"
    assert "nope" in result["error"]["message"]


async def test_concurrent_runs_each_get_their_own_sandbox(sandbox):
    # MAX_SANDBOXES defaults to 4: four at once must all answer, each its own table.
    ids = [new_run_id() for _ in range(4)]
    results = await asyncio.gather(*(
        run(sandbox, f"SELECT '{i}' AS id, count(*) AS n FROM penguins", "sql", run_id=i)
        for i in ids
    ))
    assert [r["rows"] for r in results] == [[[i, 344]] for i in ids]

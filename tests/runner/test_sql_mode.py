"""SQL mode of the real runner: tables, types, truncation, limits, and DuckDB lockdown."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_group_by_returns_the_table(sql):
    result = sql("SELECT species, count(*) AS n FROM penguins GROUP BY species ORDER BY species")
    assert result["status"] == "ok" and result["error"] is None
    assert result["columns"] == [{"name": "species", "type": "VARCHAR"},
                                 {"name": "n", "type": "BIGINT"}]
    assert result["rows"] == [["Adelie", 152], ["Chinstrap", 68], ["Gentoo", 124]]
    assert result["row_count"] == 3 and result["truncated"] is False
    assert result["elapsed_ms"] >= 0


def test_all_three_datasets_are_views(sql):
    result = sql("SELECT (SELECT count(*) FROM penguins), (SELECT count(*) FROM gapminder), "
                 "(SELECT count(*) FROM flights)")
    assert result["rows"] == [[344, 1704, 336776]]


def test_more_rows_than_max_rows_sets_truncated(sql):
    result = sql("SELECT country, year FROM gapminder ORDER BY country, year", max_rows=3)
    assert result["truncated"] is True and result["row_count"] == 3
    assert result["rows"] == [["Afghanistan", 1952], ["Afghanistan", 1957], ["Afghanistan", 1962]]


def test_exactly_max_rows_is_not_truncated(sql):
    result = sql("SELECT * FROM penguins LIMIT 5", max_rows=5)
    assert result["row_count"] == 5 and result["truncated"] is False


def test_values_are_json_safe_and_types_are_duckdb_names(sql):
    result = sql(
        "SELECT 1.5::DECIMAL(4,2) AS d, DATE '2020-01-02' AS day, INTERVAL 3 HOUR AS i, "
        "'nan'::DOUBLE AS n, 'inf'::FLOAT AS f, NULL::INTEGER AS z, [1, 2] AS l, "
        "{'a': 1} AS s, '\\xAA'::BLOB AS b, TIME '10:00' AS t, "
        "TIMESTAMPTZ '2020-01-01 10:00:00+00' AS tz, min(time_hour) AS ts FROM flights"
    )
    assert result["status"] == "ok", result["error"]
    types = {c["name"]: c["type"] for c in result["columns"]}
    assert types == {
        "d": "DECIMAL(4,2)", "day": "DATE", "i": "INTERVAL", "n": "DOUBLE", "f": "FLOAT",
        "z": "INTEGER", "l": "INTEGER[]", "s": "STRUCT(a INTEGER)", "b": "BLOB", "t": "TIME",
        "tz": "TIMESTAMP WITH TIME ZONE", "ts": "TIMESTAMP",
    }
    assert result["rows"] == [[1.5, "2020-01-02", "P0DT3H0M0S", None, None, None, "[1, 2]",
                               '{"a": 1}', "aa", "10:00:00", "2020-01-01T10:00:00+00:00",
                               "2013-01-01T05:00:00"]]


def test_null_stays_null(sql):
    result = sql("SELECT sex FROM penguins WHERE sex IS NULL LIMIT 1")
    assert result["rows"] == [[None]]


def test_syntax_error_is_a_readable_sql_error(sql):
    result = sql("SELEC species FROM penguins")
    assert result["status"] == "error"
    assert result["error"]["type"] == "sql_error"
    assert "syntax error" in result["error"]["message"]


def test_unknown_table_names_it(sql):
    result = sql("SELECT * FROM penguin")
    assert result["error"]["type"] == "sql_error"
    assert "penguin" in result["error"]["message"]


ESCAPES = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/proc/self/environ')",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM read_csv('{data}/manifest.json')",
    "SELECT * FROM read_json('https://example.com/x.json')",
    "CREATE TABLE t AS SELECT * FROM read_csv('/etc/passwd')",
    "COPY penguins TO '{tmp}/out.csv'",
    "COPY (SELECT 1) TO '{data}/penguins.parquet'",
    "CREATE TABLE t (line VARCHAR); COPY t FROM '/etc/passwd'",
    "EXPORT DATABASE '{tmp}/export'",
    "ATTACH '{tmp}/other.duckdb' AS other",
    "ATTACH ':memory:' AS other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SET threads = 8",
    "RESET memory_limit",
    "PRAGMA memory_limit = '4GB'",
    "SELECT 1; COPY penguins TO '{tmp}/late.csv'",
]


@pytest.mark.parametrize("template", ESCAPES)
def test_escape_attempts_fail_cleanly(sql, template, tmp_path):
    data = Path(__file__).resolve().parents[2] / "datasets"
    before = sorted(p.name for p in data.iterdir())
    result = sql(template.format(tmp=tmp_path, data=data))
    assert result["status"] == "error", result
    assert result["error"]["type"] in ("not_allowed", "sql_error")
    assert result["error"]["message"].strip()
    assert result["rows"] == []
    assert list(tmp_path.iterdir()) == [], "a file was written"
    assert sorted(p.name for p in data.iterdir()) == before


def test_copy_and_install_say_why(sql):
    copy = sql("COPY penguins TO '/tmp/x.csv'")["error"]
    assert copy["type"] == "not_allowed" and "COPY" in copy["message"]
    install = sql("INSTALL httpfs")["error"]
    assert install["type"] == "not_allowed" and "extension" in install["message"]


def test_in_memory_tables_are_fine(sql):
    result = sql("CREATE TABLE t AS SELECT 1 AS a; INSERT INTO t VALUES (2); SELECT * FROM t")
    assert result["rows"] == [[1], [2]]


def test_long_query_times_out(sql):
    result = sql("SELECT count(*) FROM range(1000000000000) a", timeout_ms=300)
    assert result["status"] == "timeout"
    assert result["error"]["type"] == "timeout" and "300 ms" in result["error"]["message"]


def test_result_over_the_byte_cap_is_output_limit(sql):
    result = sql("SELECT * FROM flights", max_rows=2000, max_output_bytes=4096)
    assert result["status"] == "output_limit"
    assert result["error"]["type"] == "output_limit"
    assert "4096" in result["error"]["message"]
    assert result["rows"] == []


def test_duckdb_memory_limit_is_an_oom(sql, monkeypatch):
    monkeypatch.setenv("CORRAL_DUCKDB_MEMORY", "20MB")
    result = sql("SELECT list(range) FROM range(20000000) GROUP BY range % 2")
    assert result["status"] == "oom", result
    assert result["error"]["type"] == "oom"

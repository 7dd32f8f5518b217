"""The plan guard: one read-only query over the known datasets, nothing that reaches
files, URLs, settings or the environment. (It is a convenience; the sandbox is the
boundary, and tests/executors prove the sandbox holds when the guard is bypassed.)"""

from __future__ import annotations

import pytest

from app.guard import GuardRejection, check_plan, check_python, check_sql

DATASETS = ["penguins", "gapminder", "flights"]
PREFIX = "only one read-only SELECT over penguins, gapminder, flights is allowed; "

ALLOWED = [
    "SELECT * FROM penguins",
    "FROM penguins",
    "SELECT species, ROUND(AVG(body_mass_g), 2) FROM penguins GROUP BY species",
    'SELECT continent, AVG("lifeExp") FROM gapminder WHERE year = 2007 GROUP BY 1 ORDER BY 2',
    "WITH d AS (SELECT dest, COUNT(*) n FROM flights GROUP BY dest) SELECT * FROM d LIMIT 5",
    "SELECT 1 AS a UNION ALL SELECT 2",
    "VALUES (1, 'a'), (2, 'b')",
    "SELECT * FROM penguins p JOIN gapminder g ON p.year = g.year LIMIT 3",
    "SELECT * FROM range(10)",
    "SELECT date_trunc('month', time_hour) AS m, COUNT(*) FROM flights GROUP BY 1",
    "SELECT * FROM penguins;",
    "SELECT species FROM penguins WHERE species IN (SELECT species FROM penguins)",
]

REJECTED = {
    "ATTACH 'evil.db'": "found: ATTACH",
    "DETACH evil": "found: DETACH",
    "COPY penguins TO '/tmp/out.csv'": "found: COPY",
    "EXPORT DATABASE '/tmp/x'": "found: EXPORT",
    "INSTALL httpfs": "found: INSTALL",
    "LOAD httpfs": "found: LOAD",
    "PRAGMA database_list": "found: PRAGMA",
    "SET threads = 1": "found: SET",
    "CALL pragma_version()": "found: CALL",
    "CREATE TABLE t AS SELECT 1": "found: CREATE",
    "DROP VIEW penguins": "found: DROP",
    "INSERT INTO penguins VALUES (1)": "found: INSERT",
    "UPDATE penguins SET year = 1": "found: UPDATE",
    "DELETE FROM penguins": "found: DELETE",
    "DESCRIBE penguins": "found: DESCRIBE",
    "SELECT 1; SELECT 2": "found 2 statements",
    "SELECT * FROM penguins; DROP VIEW penguins": "found 2 statements (SELECT, DROP)",
    "SELECT * FROM read_csv('/etc/passwd')": "table function read_csv()",
    "SELECT * FROM read_csv_auto('/etc/passwd')": "table function read_csv_auto()",
    "SELECT * FROM read_parquet('/data/flights.parquet')": "table function read_parquet()",
    "SELECT * FROM read_json('http://example.com/x.json')": "table function read_json()",
    "SELECT * FROM glob('/etc/*')": "table function glob()",
    "SELECT * FROM sniff_csv('/etc/passwd')": "table function sniff_csv()",
    "SELECT * FROM (SELECT * FROM read_text('/etc/shadow'))": "table function read_text()",
    "SELECT content FROM read_blob('/etc/hostname')": "table function read_blob()",
    "SELECT * FROM '/etc/passwd'": "unknown table '/etc/passwd'",
    "SELECT * FROM 'https://example.com/data.csv'": "unknown table",
    "SELECT * FROM secrets": "unknown table 'secrets'",
    "SELECT * FROM main.penguins": "qualified name",
    "SELECT getenv('HOME')": "function getenv()",
    "SELECT current_setting('enable_external_access')": "function current_setting()",
    "SELECT * FROM duckdb_settings()": "table function duckdb_settings()",
    "SELECT * FROM duckdb_secrets()": "table function duckdb_secrets()",
    "SELECT * FROM query('SELECT 1')": "table function query()",
    "": "found no statement",
    "SELEC * FROM penguins": "",
}


@pytest.mark.parametrize("sql", ALLOWED)
def test_allowed(sql):
    assert check_sql(sql, DATASETS) == sql


@pytest.mark.parametrize("sql", list(REJECTED))
def test_rejected_with_a_clear_message(sql):
    with pytest.raises(GuardRejection) as exc:
        check_sql(sql, DATASETS)
    message = str(exc.value)
    assert message.startswith(PREFIX)
    assert REJECTED[sql] in message


def test_cte_names_are_allowed_but_only_as_defined():
    check_sql("WITH x AS (SELECT 1 AS a) SELECT * FROM x", DATASETS)
    with pytest.raises(GuardRejection, match="unknown table 'y'"):
        check_sql("WITH x AS (SELECT 1 AS a) SELECT * FROM y", DATASETS)


def test_python_screen_is_light():
    code = "result = penguins.groupby('species', as_index=False)['body_mass_g'].mean()"
    assert check_python(code) == code
    with pytest.raises(GuardRejection, match="does not parse"):
        check_python("result = (")
    with pytest.raises(GuardRejection, match="found: import subprocess"):
        check_python("import subprocess\nresult = subprocess.run(['id'])")
    with pytest.raises(GuardRejection, match="found: import urllib.request"):
        check_python("import urllib.request")


def test_check_plan_dispatches_on_language():
    assert check_plan("sql", "SELECT 1", DATASETS) == "SELECT 1"
    with pytest.raises(GuardRejection):
        check_plan("python", "import socket", DATASETS)


def test_exactly_the_tables_of_the_catalog_are_allowed():
    """Every table of every dataset in the manifest, and nothing else."""
    from pathlib import Path

    from app.catalog import load_catalog

    tables = load_catalog(Path(__file__).resolve().parents[2] / "datasets").table_names
    assert tables == ["penguins", "gapminder", "flights", "airlines", "airports", "planes",
                      "weather"]
    check_sql("SELECT a.name, COUNT(*) FROM flights f JOIN airlines a USING (carrier) "
              "GROUP BY 1", tables)
    with pytest.raises(GuardRejection, match="unknown table 'airline'"):
        check_sql("SELECT * FROM airline", tables)

"""DuckDB's own lockdown holds even without the runner's statement filter (defence in depth)."""

from __future__ import annotations

import pytest

from runner import database


@pytest.fixture
def con(monkeypatch):
    from runner_harness import DATASETS

    monkeypatch.setenv("CORRAL_DATA_DIR", str(DATASETS))
    connection = database.connect(database.dataset_files())
    yield connection
    connection.close()


def test_views_work(con):
    assert con.execute("SELECT count(*) FROM flights").fetchall() == [(336776,)]


@pytest.mark.parametrize("statement", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "COPY (SELECT 1) TO '{tmp}/x.csv'",
    "ATTACH '{tmp}/x.duckdb'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SET lock_configuration = false",
    "SET allowed_paths = ['/']",
    "RESET memory_limit",
])
def test_engine_refuses_without_the_filter(con, statement, tmp_path):
    with pytest.raises(database.duckdb.Error):
        con.execute(statement.format(tmp=tmp_path)).fetchall()
    assert list(tmp_path.iterdir()) == []


def test_settings_are_what_the_runner_promises(con):
    settings = dict(con.execute(
        "SELECT name, value FROM duckdb_settings() WHERE name IN ('threads', "
        "'enable_external_access', 'lock_configuration', 'autoload_known_extensions', "
        "'autoinstall_known_extensions')").fetchall())
    assert settings == {"threads": "1", "enable_external_access": "false",
                        "lock_configuration": "true", "autoload_known_extensions": "false",
                        "autoinstall_known_extensions": "false"}

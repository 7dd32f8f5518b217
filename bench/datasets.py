"""Datasets at scale: agent start-up (catalog load), memory and offline-planner time with
the bundled datasets and with many generated ones, and `corral datasets add` on a big
Parquet file; prints JSON.

    .venv/bin/python -m bench.datasets [--many 50] [--tables 10] [--add-mb 1024]

Each measurement runs in a fresh Python process, so its resident memory is its own.
The generated datasets are written by `corral datasets add` itself (one folder of
--tables Parquet files per dataset: one fact table and dimension tables it keys into).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import duckdb

from app.cli import add

# Runs in a child process: load the catalog, build every vocabulary, plan every example
# question with no dataset picked (so the planner scores every dataset), report.
PROBE = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from bench.stats import summary
def rss(): return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20
base = rss()
import app.catalog, app.planners.offline as offline
from app.planners.offline.vocabulary import vocabulary
imported = rss()
t = time.perf_counter(); catalog = app.catalog.load_catalog(Path(sys.argv[1]))
load_ms = (time.perf_counter() - t) * 1000
loaded = rss()
t = time.perf_counter()
for ds in catalog.datasets.values(): vocabulary(ds)
vocab_ms = (time.perf_counter() - t) * 1000
questions = [q for ds in catalog.datasets.values() for q in ds.examples]
times, planned = [], 0
for q in questions:
    t = time.perf_counter(); plan = offline.plan_question(q, catalog)
    times.append((time.perf_counter() - t) * 1000); planned += hasattr(plan, 'code')
print(json.dumps({"datasets": len(catalog.names), "tables": len(catalog.table_names),
  "catalog_load_ms": round(load_ms, 1), "vocabularies_ms": round(vocab_ms, 1),
  "rss_after_imports_mb": round(imported, 1), "rss_growth_catalog_mb": round(loaded - imported, 1),
  "rss_after_planning_mb": round(rss(), 1), "questions": len(questions), "planned": planned,
  "plan_time": summary(times)}))
"""


def probe(folder: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, str(folder), str(REPO)], text=True,
                         capture_output=True, check=True, timeout=1800)
    return json.loads(out.stdout)


def generate(folder: Path, many: int, tables: int, rows: int) -> float:
    """`many` datasets of `tables` tables through `corral datasets add`; seconds taken."""
    con = duckdb.connect()
    started = time.perf_counter()
    for d in range(many):
        src = folder.parent / f"src{d:03d}"
        src.mkdir()
        dims = [f"d{d:03d}_dim{k}" for k in range(1, tables)]
        for k, dim in enumerate(dims, start=1):
            con.execute(f"""COPY (SELECT i AS {dim}_id, 'kind ' || (i % 7) AS {dim}_kind,
                            'label ' || i AS {dim}_label FROM range(1, 41) t(i))
                            TO '{src / dim}.parquet' (FORMAT parquet)""")
        keys = ", ".join(f"1 + (n * {k + 3}) % 40 AS {dim}_id" for k, dim in enumerate(dims))
        con.execute(f"""COPY (SELECT n AS event_id, ['red', 'green', 'blue'][n % 3 + 1] AS colour,
                        (n * 31) % 1000 / 10.0 AS amount_usd, {keys} FROM range(1, {rows + 1}) t(n))
                        TO '{src / f'd{d:03d}_events'}.parquet' (FORMAT parquet)""")
        add(src, f"set{d:03d}", folder, 4 * 1024**3, replace=False)
    return time.perf_counter() - started


def add_big(workdir: Path, megabytes: int) -> dict:
    """`corral datasets add` on one Parquet file of about `megabytes` MB."""
    src = workdir / "big" / "readings.parquet"
    src.parent.mkdir()
    rows = megabytes * 60_000  # ~17 bytes per row compressed, measured on this generator
    duckdb.connect().execute(f"""COPY (SELECT n AS reading_id, n % 977 AS sensor_id,
        ['ok', 'warn', 'fail'][n % 3 + 1] AS state, hash(n) % 100000 / 100.0 AS value_mm,
        hash(n * 7) AS noise FROM range({rows}) t(n)) TO '{src}' (FORMAT parquet)""")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "app.cli", "datasets", "add", str(src.parent),
                    "--name", "big", "--datasets", str(workdir / "big-datasets")],
                   cwd=REPO, check=True, capture_output=True, timeout=3600)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"file_mb": round(src.stat().st_size / 2**20, 1), "rows": rows,
            "seconds": round(elapsed, 1), "max_rss_mb": round(after.ru_maxrss / 1024, 1),
            "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime
                           - before.ru_stime, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--many", type=int, default=50)
    parser.add_argument("--tables", type=int, default=10)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--add-mb", type=int, default=1024, help="0 skips the big file")
    args = parser.parse_args()
    report: dict = {"bundled": probe(REPO / "datasets")}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "datasets"
        seconds = generate(folder, args.many, args.tables, args.rows)
        report["generated"] = {"add_seconds_total": round(seconds, 1), **probe(folder)}
        if args.add_mb:
            report["add_big_parquet"] = add_big(Path(tmp), args.add_mb)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

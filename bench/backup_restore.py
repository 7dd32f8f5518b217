"""RTO and RPO of Corral's backups, measured: SQLite (the corral_backup role's steps) and
PostgreSQL (scripts/pg-backup.sh), on a database with --conversations conversations.

For each mode and each of --runs rounds:
* backup_ms: a consistent copy while the database is open (SQLite online backup API, as
  backup.yml; pg_dump custom format) plus, for SQLite, the tar.gz the role writes;
* restore_to_serving_ms (the RTO without the operator's reaction time): from "put the
  archive back" (unpack + copy; pg_restore) to an agent server started on it that answers
  /readyz and serves a conversation of the backup, signed in;
* rpo_worst_s: what the documented schedule can lose at worst - everything written since
  the last backup's snapshot: the interval (--interval-s, README: hourly) plus one backup.

Prints one JSON object. python -m bench.backup_restore [--conversations 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import httpx

from bench.server import ROOT, agent_server, auth
from bench.stats import summary

sys.path.insert(0, str(ROOT / "tests"))  # the throw-away PostgreSQL the tests use

ROWS = [[f"species {i}", i * 17, 4200.5 + i] for i in range(20)]  # a typical answer table


async def fill(url: str, conversations: int) -> str:
    """`conversations` conversations of two questions each, owned by the `bench` admin
    (bench.server signs in as it); returns one conversation id to read back."""
    from app.auth import users
    from app.storage import Storage

    storage = Storage(url)
    await storage.open()
    owner = (users.find(storage.engine, "bench") or
             users.create(storage.engine, "bench", role="admin")).id
    columns = [{"name": "species", "type": "VARCHAR"}, {"name": "n", "type": "BIGINT"},
               {"name": "mass", "type": "DOUBLE"}]
    plan = {"language": "sql", "code": "SELECT species, count(*) FROM penguins GROUP BY 1",
            "explanation": "Penguins per species.", "planner": "offline"}
    cid = ""
    for i in range(conversations):
        cid = await storage.create_conversation(f"Question {i} about penguins", user_id=owner)
        for turn in range(2):
            result = {"version": 1, "run_id": f"r{i}t{turn}", "status": "ok", "columns": columns,
                      "rows": ROWS, "row_count": len(ROWS), "truncated": False,
                      "elapsed_ms": 40, "error": None}
            await storage.add_message(cid, f"How many penguins, take {turn}?", plan, result,
                                      f"{len(ROWS)} rows", ["And per island?"], user_id=owner)
    await storage.close()
    return cid


def _served(env: dict[str, str], cid: str) -> None:
    with agent_server(**env) as (url, _):
        got = httpx.get(f"{url}/api/conversations/{cid}", headers=auth(url), timeout=30)
        if got.status_code != 200 or len(got.json()["messages"]) != 2:
            raise SystemExit(f"restored conversation {cid} not served: {got.status_code}")


SERVER_ENV = {"EXECUTION_MODE": "bwrap", "WARM_POOL_SIZE": "0"}


def sqlite_round(db: Path, work: Path, cid: str) -> tuple[float, float]:
    from app.schema_upgrade import sqlite_copy

    staging, archive = work / "staging", work / "corral-backup.tar.gz"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    t0 = time.perf_counter()
    sqlite_copy(db, staging / "corral.db")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(staging / "corral.db", "corral.db")
    backup = time.perf_counter() - t0
    db.unlink()  # the disaster
    t0 = time.perf_counter()
    with tarfile.open(archive) as tar:
        tar.extract("corral.db", work / "unpacked", filter="data")
    shutil.copyfile(work / "unpacked" / "corral.db", db)
    _served({**SERVER_ENV, "DATABASE_URL": f"sqlite:///{db}"}, cid)
    return backup, time.perf_counter() - t0


def pg_round(url: str, work: Path, cid: str) -> tuple[float, float]:
    script, dump = str(ROOT / "scripts" / "pg-backup.sh"), work / "corral.pgdump"
    t0 = time.perf_counter()
    subprocess.run([script, "dump", url, str(dump)], check=True, capture_output=True)
    backup = time.perf_counter() - t0
    wipe = "DROP SCHEMA public CASCADE; CREATE SCHEMA public"  # the disaster
    subprocess.run(["psql", "-q", "-d", url, "-c", wipe], check=True, capture_output=True)
    t0 = time.perf_counter()
    subprocess.run([script, "restore", url, str(dump)], check=True, capture_output=True)
    _served({**SERVER_ENV, "DATABASE_URL": url}, cid)
    return backup, time.perf_counter() - t0


def measure(mode: str, conversations: int, runs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if mode == "sqlite":
            db = work / "corral.db"
            cid = asyncio.run(fill(f"sqlite:///{db}", conversations))
            size = db.stat().st_size
            rounds = [sqlite_round(db, work, cid) for _ in range(runs)]
        else:
            from pg_server import postgres_server

            with postgres_server() as server:
                cid = asyncio.run(fill(server.url.replace("postgresql://",
                                                          "postgresql+psycopg://"), conversations))
                rounds = [pg_round(server.url, work, cid) for _ in range(runs)]
                size = (work / "corral.pgdump").stat().st_size
    return {"database_bytes" if mode == "sqlite" else "dump_bytes": size,
            "backup": summary([b * 1000 for b, _ in rounds]),
            "restore_to_serving": summary([r * 1000 for _, r in rounds])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conversations", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--interval-s", type=int, default=3600,
                    help="the backup schedule's interval (README: hourly)")
    ap.add_argument("--modes", default="sqlite,postgresql")
    args = ap.parse_args()
    out: dict = {"conversations": args.conversations, "messages": 2 * args.conversations,
                 "runs": args.runs, "backup_interval_s": args.interval_s}
    for mode in args.modes.split(","):
        got = measure(mode, args.conversations, args.runs)
        got["rpo_worst_s"] = round(args.interval_s + got["backup"]["max_ms"] / 1000, 1)
        got["rto_p50_s"] = round(got["restore_to_serving"]["p50_ms"] / 1000, 2)
        out[mode] = got
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

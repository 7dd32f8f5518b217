"""Soak: a real agent server under steady mixed traffic for a bounded time, as JSON.

One agent server (bwrap by default; docker with --mode docker) on 127.0.0.1 takes
a fixed request rate until --duration-s or --requests runs out: chat questions
(new and follow-up conversations) and SQL/Python queries that run in real
sandboxes, bodies refused with 422, unknown ids (404), oversize bodies (413),
conversation paging and deletes, /readyz and /metrics. Every --sample-s seconds it
records the server's RSS (and where it is: main heap, other anonymous memory,
file-backed pages), open file descriptors, threads, database size and the
sandboxes alive. The report gives start, end, and the slope over the second half
(per 1000 requests, so warm-up does not count), plus the sandboxes left after
the server stops. --env NAME=VALUE adds to the server's environment, for A/B runs
(e.g. MALLOC_ARENA_MAX=8 against the server's own 2, app/allocator.py).

  python -m bench.soak [--duration-s 1200] [--requests 100000] [--rate 10] [--mode bwrap]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.server import ROOT, agent_server, auth, leaked_sandboxes, rss_mb
from bench.stats import summary

QUESTIONS = [
    "What is the average body mass of penguins by species?",
    "Which continent had the highest average life expectancy in 2007?",
    "What are the top 5 destinations by number of flights?",
    "How many penguins are there per island?",
]
SQL = ["SELECT species, count(*) AS n FROM penguins GROUP BY species ORDER BY species",
       "SELECT island, avg(body_mass_g) AS m FROM penguins GROUP BY 1 ORDER BY 1",
       "SELECT nonexistent_column FROM penguins"]  # a run that fails inside the sandbox
PYTHON = ["result = penguins.groupby('species').size().reset_index(name='n')",
          "result = gapminder[gapminder.year == 2007].nlargest(5, 'lifeExp')"]
UNKNOWN_ID = "0" * 32
# One request kind per entry, weighted by repetition: about 1 in 6 starts a sandbox.
# Shuffled once with a fixed seed so sandbox runs spread out and every run is the same.
MIX = random.Random(11).sample(["chat"] * 2 + ["chat_follow"] + ["sql"] * 1 + ["python"] * 1
       + ["invalid"] * 4 + ["unknown"] * 3 + ["oversize"] + ["page"] * 4
       + ["read"] * 2 + ["delete"] + ["readyz"] * 3 + ["metrics"] * 2 + ["datasets"], k=26)


class Traffic:
    """Sends one request of a kind and remembers conversations it created."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.conversations: list[str] = []
        self.codes: Counter = Counter()
        self.latency_ms: dict[str, list[float]] = {}

    async def send(self, kind: str) -> None:
        start = time.perf_counter()
        try:
            resp = await getattr(self, "_" + kind)()
        except httpx.HTTPError as exc:
            self.codes[f"{kind}:{type(exc).__name__}"] += 1
            return
        self.codes[f"{kind}:{resp.status_code}"] += 1
        self.latency_ms.setdefault(kind, []).append((time.perf_counter() - start) * 1000)

    async def _chat(self) -> httpx.Response:
        resp = await self.client.post("/api/chat", json={"question": random.choice(QUESTIONS)})
        if resp.status_code == 200 and len(self.conversations) < 5000:
            self.conversations.append(resp.json()["conversation_id"])
        return resp

    async def _chat_follow(self) -> httpx.Response:
        if not self.conversations:
            return await self._chat()
        return await self.client.post("/api/chat", json={
            "question": random.choice(QUESTIONS), "conversation_id": random.choice(self.conversations)})

    async def _sql(self) -> httpx.Response:
        return await self.client.post("/api/query", json={"language": "sql", "code": random.choice(SQL)})

    async def _python(self) -> httpx.Response:
        return await self.client.post("/api/query", json={"language": "python",
                                                          "code": random.choice(PYTHON), "max_rows": 3})

    async def _invalid(self) -> httpx.Response:
        body = random.choice([{"language": "sql"}, {"language": "cobol", "code": "x"},
                              {"language": "sql", "code": "SELECT 1", "max_rows": True},
                              {"question": ""}, {"question": "x", "dataset": "no-such-dataset"}, []])
        path = "/api/chat" if isinstance(body, dict) and "question" in body else "/api/query"
        return await self.client.post(path, json=body)

    async def _unknown(self) -> httpx.Response:
        if random.random() < 0.5:
            return await self.client.get(f"/api/conversations/{UNKNOWN_ID}")
        return await self.client.post("/api/chat", json={"question": QUESTIONS[0],
                                                         "conversation_id": UNKNOWN_ID})

    async def _oversize(self) -> httpx.Response:
        return await self.client.post("/api/query", content=b"x" * (1024 * 1024 + 10),
                                      headers={"Content-Type": "application/json"})

    async def _page(self) -> httpx.Response:
        return await self.client.get("/api/conversations",
                                     params={"limit": 20, "offset": random.randrange(0, 200)})

    async def _read(self) -> httpx.Response:
        cid = random.choice(self.conversations) if self.conversations else UNKNOWN_ID
        return await self.client.get(f"/api/conversations/{cid}")

    async def _delete(self) -> httpx.Response:
        # Keeps conversations bounded the way an analyst's cleanup would: the oldest go.
        cid = self.conversations.pop(0) if len(self.conversations) > 200 else UNKNOWN_ID
        return await self.client.delete(f"/api/conversations/{cid}")

    async def _readyz(self) -> httpx.Response:
        return await self.client.get("/readyz")

    async def _metrics(self) -> httpx.Response:
        return await self.client.get("/metrics")

    async def _datasets(self) -> httpx.Response:
        return await self.client.get("/api/datasets")


def sandbox_processes(marker: str) -> int:
    """bwrap sandboxes of one server: outer bwrap processes (bwrap forks once more inside
    its namespaces) whose command line carries that server's marker."""
    count = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            ppid = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
            parent = Path(f"/proc/{ppid}/cmdline").read_bytes().split(b"\0")[0]
        except (OSError, IndexError):
            continue
        if (cmdline[0].endswith(b"bwrap") and not parent.endswith(b"bwrap")
                and any(marker.encode() in arg for arg in cmdline)):
            count += 1
    return count


def memory_split(pid: int) -> dict[str, float]:
    """Where the resident memory is (MB): the main heap (brk, glibc's main arena),
    anonymous mappings (other threads' malloc arenas, thread stacks, Python's own
    arenas, large allocations), and file-backed pages (libraries, mapped files)."""
    split = {"heap_mb": 0, "anon_mb": 0, "file_mb": 0}
    kind = "anon_mb"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if not fields[0].endswith(":"):  # a mapping's header: address range ... [path]
            name = fields[5] if len(fields) > 5 else ""
            kind = ("heap_mb" if name == "[heap]" else
                    "file_mb" if name.startswith("/") else "anon_mb")
        elif fields[0] == "Rss:":
            split[kind] += int(fields[1])
    return {k: round(v / 1024, 1) for k, v in split.items()}


def sample(pid: int, db: Path, mode: str, sent: int, t0: float) -> dict[str, float]:
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    db_bytes = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    alive = (sandbox_processes(str(db.parent)) if mode == "bwrap"
             else leaked_sandboxes(os.environ["SOAK_DEPLOYMENT"]))
    return {"t_s": round(time.monotonic() - t0, 1), "requests": sent, "rss_mb": rss_mb(pid),
            "fds": len(os.listdir(f"/proc/{pid}/fd")), "threads": int(status["Threads"]),
            **memory_split(pid), "db_mb": round(db_bytes / 1e6, 3), "sandboxes": alive}


def slope_per_1000(samples: list[dict[str, float]], key: str) -> float | None:
    """Least-squares slope of `key` against requests over the second half of the run."""
    half = samples[len(samples) // 2:]
    xs = [s["requests"] for s in half]
    if len(half) < 3 or max(xs) == min(xs):
        return None
    slope = statistics.linear_regression(xs, [s[key] for s in half]).slope
    return round(slope * 1000, 4)


async def drive(url: str, pid: int, db: Path, args: argparse.Namespace) -> dict[str, object]:
    """Open loop at --rate, at most --concurrency in flight; samples every --sample-s."""
    samples: list[dict[str, float]] = []
    sent = 0
    t0 = time.monotonic()
    in_flight: set[asyncio.Task] = set()
    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=url, headers=auth(url), timeout=60, limits=limits) as client:
        traffic = Traffic(client)
        next_sample = t0
        while time.monotonic() - t0 < args.duration_s and sent < args.requests:
            now = time.monotonic()
            if now >= next_sample:
                samples.append(sample(pid, db, args.mode, sent, t0))
                next_sample += args.sample_s
            if len(in_flight) >= args.concurrency:  # the server is behind: wait, do not spin
                traffic.codes["waited_for_a_free_slot"] += 1
                await asyncio.wait(in_flight, timeout=args.sample_s,
                                   return_when=asyncio.FIRST_COMPLETED)
                continue
            task = asyncio.create_task(traffic.send(MIX[sent % len(MIX)]))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            sent += 1
            await asyncio.sleep(max(0.0, t0 + sent / args.rate - time.monotonic()))
        await asyncio.gather(*in_flight)
        samples.append(sample(pid, db, args.mode, sent, t0))
    return {"wall_s": round(time.monotonic() - t0, 1), "requests": sent,
            "responses": dict(sorted(traffic.codes.items())),
            "http_5xx": sum(n for k, n in traffic.codes.items() if k.split(":")[-1].startswith("5")),
            "latency": {k: summary(v) for k, v in sorted(traffic.latency_ms.items())},
            "samples": samples}


def report(run: dict[str, object], args: argparse.Namespace, leftovers: int,
           load: tuple[str, str]) -> dict[str, object]:
    samples: list[dict[str, float]] = run["samples"]  # type: ignore[assignment]
    keys = ("rss_mb", "heap_mb", "anon_mb", "file_mb", "fds", "threads", "db_mb", "sandboxes")
    return {
        "mode": args.mode, "server_env": args.env, "rate_per_s": args.rate,
        "concurrency": args.concurrency,
        "load_average": {"start": load[0], "end": load[1]},
        **{k: run[k] for k in ("wall_s", "requests", "http_5xx", "responses", "latency")},
        "start": {k: samples[0][k] for k in keys},
        "end": {k: samples[-1][k] for k in keys},
        "max": {k: max(s[k] for s in samples) for k in keys},
        "second_half_slope_per_1000_requests": {k: slope_per_1000(samples, k) for k in keys},
        "leftover_sandboxes_after_stop": leftovers,
        "samples": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration-s", type=float, default=1200)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=10, help="requests per second")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--sample-s", type=float, default=15)
    parser.add_argument("--mode", choices=("bwrap", "docker"), default="bwrap")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra server environment, for A/B runs (repeatable)")
    args = parser.parse_args()
    extra = dict(item.split("=", 1) for item in args.env if "=" in item)
    if len(extra) != len(args.env):
        parser.error("--env: expected NAME=VALUE")
    deployment = f"soak-{os.getpid()}"
    os.environ["SOAK_DEPLOYMENT"] = deployment
    env = {"EXECUTION_MODE": args.mode, "MAX_SANDBOXES": "4", "DEPLOYMENT_ID": deployment}
    env.update(extra)
    if args.mode == "bwrap" and not Path("/sys/fs/cgroup/memory").is_dir():
        env["BWRAP_ALLOW_PER_PROCESS_LIMITS"] = "true"
    load_start = Path("/proc/loadavg").read_text().strip()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "soak.db"
        env["DATABASE_URL"] = f"sqlite:///{db}"
        # A runner copy of its own marks this server's bwrap sandboxes (their command
        # line binds it) apart from any other server on the machine.
        shutil.copytree(ROOT / "runner", Path(tmp) / "runner",
                        ignore=shutil.ignore_patterns("__pycache__"))
        env["RUNNER_DIR"] = str(Path(tmp) / "runner")
        with agent_server(log=Path(tmp) / "agent.log", **env) as (url, proc):
            run = asyncio.run(drive(url, proc.pid, db, args))
        time.sleep(2)
        leftovers = (sandbox_processes(tmp) if args.mode == "bwrap"
                     else leaked_sandboxes(deployment))
    load = (load_start, Path("/proc/loadavg").read_text().strip())
    print(json.dumps(report(run, args, leftovers, load), indent=2))


if __name__ == "__main__":
    main()

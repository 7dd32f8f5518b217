"""Warm pool vs cold path vs `docker run --rm IMAGE true`, through the HTTP API; prints JSON.

    python -m bench.warm_pool [--runs 40] [--requests 60] [--skip-bwrap] [--parts steady,load]

Four parts, each on real agent servers started here (127.0.0.1) with the same settings
except WARM_POOL_SIZE (2 pooled, 0 cold):

1. steady: one request at a time, in interleaved blocks (pooled server, cold server,
   baseline), SQL and Python alternating, so machine load hits every way alike; the
   pooled server's block is paced at --interval (0.6 s: 1.7 requests/s). Latency is
   client-side, through /api/query.
   `api_only` is a request the guard refuses on the pooled server, the same path without
   a sandbox: what is left of a pooled answer's time is the sandbox's.
2. load: back-to-back /api/query from 4 and then 8 clients, MAX_SANDBOXES=4, pooled and
   cold servers alternately: throughput, 5xx (must be 0), 429s, hit rate, leftovers.
3. idle: memory and CPU of each warm sandbox while it waits (its cgroup / procfs).
4. pause: what `docker pause` would save while idle and cost on the critical path.

Six people may share the machine: the load average is recorded before and after, and
the numbers that matter are ratios against the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import time
from pathlib import Path

import docker
import httpx

from app.executors import cgroups
from app.executors.docker import DockerExecutor
from app.executors.docker_warm import DockerWarmSandboxes
from app.settings import load_settings
from bench.server import ROOT, agent_server, auth
from bench.stats import summary

SQL = "SELECT species, count(*) AS n FROM penguins GROUP BY species ORDER BY species"
PYTHON = "result = penguins.groupby('species', as_index=False)['body_mass_g'].mean()"
REFUSED = "DROP TABLE penguins"
IMAGE = os.environ.get("RUNNER_IMAGE", "corral/runner:latest")


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def baseline_true() -> float:
    started = time.perf_counter()
    subprocess.run(["docker", "run", "--rm", "--network", "none", "--entrypoint", "/bin/true",
                    IMAGE], check=True, capture_output=True)
    return (time.perf_counter() - started) * 1000


def query(client: httpx.Client, language: str, code: str, failures: list[str],
          status: str = "ok") -> float | None:
    started = time.perf_counter()
    resp = client.post("/api/query", json={"language": language, "code": code})
    elapsed = (time.perf_counter() - started) * 1000
    if resp.status_code != 200 or resp.json()["status"] != status:
        failures.append(f"{resp.status_code}: {resp.text[:200]}")
        return None
    return elapsed


def pool_counters(client: httpx.Client) -> dict[str, float]:
    text = client.get("/metrics").text
    out = {}
    for name in ("hits", "misses", "ready"):
        m = re.search(rf"^corral_warm_pool_{name}(?:_total)? ([0-9.e+]+)$", text, re.MULTILINE)
        out[name] = float(m.group(1)) if m else 0.0
    return out


def wait_ready(client: httpx.Client, n: int, limit_s: float = 120) -> None:
    until = time.monotonic() + limit_s
    while pool_counters(client)["ready"] < n and time.monotonic() < until:
        time.sleep(0.2)


def steady(urls: dict[str, str], runs: int, interval: float, block: int) -> dict:
    """Interleaved blocks: `block` pooled requests (SQL and Python alternating) paced at
    `interval`, so the pooled server sees a steady 1/interval requests/s; then the same
    requests to the cold server; then baselines. Repeated until each way has `runs`."""
    clients = {k: httpx.Client(base_url=u, headers=auth(u), timeout=60) for k, u in urls.items()}
    requests = [("sql", SQL), ("python", PYTHON)] * (block // 2)
    samples: dict[str, list[float]] = {
        name: [] for name in ("baseline_true", "pool_sql", "pool_python", "cold_sql",
                              "cold_python", "api_only")}
    failures: list[str] = []
    pool_wall = 0.0
    try:
        for c in clients.values():
            query(c, "sql", SQL, failures)  # first-use costs are not measured
        wait_ready(clients["pool"], 2)
        before = pool_counters(clients["pool"])
        while len(samples["pool_sql"]) < runs:
            began = time.monotonic()
            for server in ("pool", "cold"):
                for lang, code in requests:
                    step = time.monotonic()
                    took = query(clients[server], lang, code, failures)
                    if took is not None:
                        samples[f"{server}_{lang}"].append(took)
                    if server == "pool":
                        time.sleep(max(0.0, interval - (time.monotonic() - step)))
                if server == "pool":
                    pool_wall += time.monotonic() - began
            for _ in range(block // 2):
                samples["baseline_true"].append(baseline_true())
                # The same path with no sandbox (the guard refuses it): HTTP, sign-in,
                # guard and audit row; the rest of a pooled answer is the sandbox's.
                took = query(clients["pool"], "sql", REFUSED, failures, status="rejected")
                if took is not None:
                    samples["api_only"].append(took)
        after = pool_counters(clients["pool"])
    finally:
        for c in clients.values():
            c.close()
    out: dict = {name: summary(v) for name, v in samples.items() if v}
    hits, misses = after["hits"] - before["hits"], after["misses"] - before["misses"]
    out["pool_requests_per_s_in_its_blocks"] = round(
        (len(samples["pool_sql"]) + len(samples["pool_python"])) / max(pool_wall, 0.001), 2)
    out["pool_hit_rate"] = round(hits / max(hits + misses, 1), 3)
    out["failures"] = failures[:10]
    return out


async def _client(client: httpx.AsyncClient, todo: list[int], stats: dict) -> None:
    while todo:
        todo.pop()
        started = time.perf_counter()
        resp = await client.post("/api/query", json={"language": "sql", "code": SQL})
        if resp.status_code == 429:
            stats["429"] += 1
            await asyncio.sleep(min(float(resp.headers.get("Retry-After", "1")), 1.0))
            resp = await client.post("/api/query", json={"language": "sql", "code": SQL})
        stats[str(resp.status_code)] = stats.get(str(resp.status_code), 0) + 1
        if resp.status_code == 200 and resp.json()["status"] == "ok":
            stats["ok"] += 1
            stats["latencies"].append((time.perf_counter() - started) * 1000)


async def burst(url: str, concurrency: int, requests: int) -> dict:
    stats: dict = {"ok": 0, "429": 0, "latencies": []}
    async with httpx.AsyncClient(base_url=url, headers=auth(url), timeout=60) as client:
        before = pool_counters(httpx.Client(base_url=url))
        started = time.perf_counter()
        todo = list(range(requests))
        await asyncio.gather(*(_client(client, todo, stats) for _ in range(concurrency)))
        wall = time.perf_counter() - started
        after = pool_counters(httpx.Client(base_url=url))
    hits, misses = after["hits"] - before["hits"], after["misses"] - before["misses"]
    lat = stats.pop("latencies")
    return {
        "concurrency": concurrency, "requests": requests, "wall_s": round(wall, 2),
        "throughput_ok_per_s": round(stats["ok"] / wall, 2),
        "http_5xx": sum(n for k, n in stats.items() if k.startswith("5")),
        "responses": stats, "hit_rate": round(hits / max(hits + misses, 1), 3),
        "latency_ok": summary(lat) if lat else None,
    }


def sandboxes() -> set[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", "label=io.corral.sandbox",
                          "--filter", f"ancestor={IMAGE}"], capture_output=True, text=True,
                         check=False)
    return set(out.stdout.split())


def load(requests: int, reps: int = 3) -> dict:
    """Pooled and cold servers alternately, in `reps` short bursts each per concurrency,
    so load from elsewhere on the machine hits both alike; totals over the bursts."""
    env = {"EXECUTION_MODE": "docker", "RUNNER_IMAGE": IMAGE, "MAX_SANDBOXES": "4"}
    rounds = []
    before = sandboxes()  # anything already on the engine is not this run's leak
    with agent_server(**env, WARM_POOL_SIZE="2") as (pool_url, _), \
            agent_server(**env, WARM_POOL_SIZE="0") as (cold_url, _):
        for concurrency in (4, 8):
            bursts: dict[str, list[dict]] = {"pool": [], "cold": []}
            for _ in range(reps):
                for name, url in (("pool", pool_url), ("cold", cold_url)):
                    wait_ready(httpx.Client(base_url=url), 2 if name == "pool" else 0, 60)
                    bursts[name].append(asyncio.run(burst(url, concurrency, requests // reps)))
            rounds += [{"server": name, **_total(concurrency, b)} for name, b in bursts.items()]
    return {"rounds": rounds, "leaked_sandboxes_after_stop": len(sandboxes() - before)}


def _total(concurrency: int, bursts: list[dict]) -> dict:
    wall = sum(b["wall_s"] for b in bursts)
    ok = sum(b["responses"]["ok"] for b in bursts)
    return {
        "concurrency": concurrency, "requests": sum(b["requests"] for b in bursts),
        "bursts": len(bursts), "wall_s": round(wall, 2),
        "throughput_ok_per_s": round(ok / wall, 2),
        "http_5xx": sum(b["http_5xx"] for b in bursts),
        "responses": {k: sum(b["responses"].get(k, 0) for b in bursts)
                      for k in sorted({k for b in bursts for k in b["responses"]})},
        "hit_rate_per_burst": [b["hit_rate"] for b in bursts],
        "throughput_per_burst": [b["throughput_ok_per_s"] for b in bursts],
        "latency_p50_ms_per_burst": [b["latency_ok"]["p50_ms"] if b["latency_ok"] else None
                                     for b in bursts],
    }


def idle_docker(seconds: float) -> dict:
    """Memory and CPU of warm containers of a pooled server that gets no requests, read
    from each container's cgroup (the engine's own stats are not available everywhere)."""
    env = {"EXECUTION_MODE": "docker", "RUNNER_IMAGE": IMAGE, "WARM_POOL_SIZE": "2"}
    with agent_server(**env) as (url, _):
        wait_ready(httpx.Client(base_url=url), 2)
        time.sleep(2)
        api = docker.from_env().api
        pids = [api.inspect_container(c["Id"])["State"]["Pid"] for c in api.containers(
            filters={"label": "io.corral.warm_until", "ancestor": IMAGE})]
        first = [_container_usage(pid) for pid in pids]
        time.sleep(seconds)
        second = [_container_usage(pid) for pid in pids]
    per = [{"memory_usage_mib": round(b["memory"] / 2**20, 1),
            "rss_mib": round(b["rss"] / 2**20, 1),
            "cpu_ms_per_s": round((b["cpu_ns"] - a["cpu_ns"]) / 1e6 / seconds, 3)}
           for a, b in zip(first, second)]
    if len(per) < 2:
        raise SystemExit(f"idle: expected 2 warm containers, found {len(per)}")
    return {"warm_containers": per, "window_s": seconds}


def _container_usage(pid: int) -> dict[str, int]:
    """A container's memory (all, and anonymous) and CPU time so far, from its cgroup."""
    memory, cpu = cgroups.process_dir(pid, "memory"), cgroups.process_dir(pid, "cpuacct")
    stat = dict(line.split() for line in (memory / "memory.stat").read_text().splitlines())
    if cgroups.version(cgroups.ROOT) == 2:
        usage = dict(line.split() for line in (cpu / "cpu.stat").read_text().splitlines())
        return {"memory": int((memory / "memory.current").read_text()),
                "rss": int(stat["anon"]), "cpu_ns": int(usage["usage_usec"]) * 1000}
    return {"memory": int((memory / "memory.usage_in_bytes").read_text()),
            "rss": int(stat["total_rss"]), "cpu_ns": int((cpu / "cpuacct.usage").read_text())}


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _cpu_and_rss(pids: list[int]) -> tuple[float, float]:
    ticks, rss = 0, 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
            rss += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK"), rss


def idle_bwrap(seconds: float) -> dict:
    env = {"EXECUTION_MODE": "bwrap", "WARM_POOL_SIZE": "2"}
    with agent_server(**env) as (url, proc):
        wait_ready(httpx.Client(base_url=url), 2)
        time.sleep(2)
        pids = _descendants(proc.pid)
        cpu_a, rss = _cpu_and_rss(pids)
        time.sleep(seconds)
        cpu_b, _ = _cpu_and_rss(pids)
    return {"per_warm_sandbox_rss_mib": round(rss / 2 / 2**20, 1),
            "per_warm_sandbox_cpu_ms_per_s": round((cpu_b - cpu_a) * 1000 / 2 / seconds, 3),
            "window_s": seconds}


def pause(trials: int) -> dict:
    """docker pause saves CPU only if a waiting runner uses some; unpause is on the path."""
    settings = load_settings(runner_image=IMAGE, datasets_path=ROOT / "datasets")
    executor = DockerExecutor(settings)
    backend = DockerWarmSandboxes(executor)
    api = executor._api()
    warm = backend.start()
    unpause_ms, pause_ms = [], []
    try:
        for _ in range(trials):
            t = time.perf_counter()
            api.pause(warm.cid)
            pause_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            api.unpause(warm.cid)
            unpause_ms.append((time.perf_counter() - t) * 1000)
    finally:
        backend.discard(warm)
    return {"pause": summary(pause_ms), "unpause_on_the_critical_path": summary(unpause_ms)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--interval", type=float, default=0.6,
                        help="seconds between request starts to the pooled server (steady)")
    parser.add_argument("--block", type=int, default=8,
                        help="requests per way before switching (steady)")
    parser.add_argument("--skip-bwrap", action="store_true")
    parser.add_argument("--parts", default="steady,load,idle,pause",
                        help="comma-separated subset of steady,load,idle,pause")
    parser.add_argument("--idle-window", type=float, default=20.0)
    args = parser.parse_args()
    report: dict = {"image": IMAGE, "cpus": os.cpu_count(), "loadavg_before": loadavg()}
    parts = set(args.parts.split(","))
    docker_env = {"EXECUTION_MODE": "docker", "RUNNER_IMAGE": IMAGE, "MAX_SANDBOXES": "4"}
    if "steady" in parts:
        with agent_server(**docker_env, WARM_POOL_SIZE="2") as (pool, _), \
                agent_server(**docker_env, WARM_POOL_SIZE="0") as (cold, _):
            report["docker_steady"] = steady({"pool": pool, "cold": cold}, args.runs,
                                             args.interval, args.block)
    if "steady" in parts and not args.skip_bwrap:
        with agent_server(EXECUTION_MODE="bwrap", WARM_POOL_SIZE="2") as (pool, _), \
                agent_server(EXECUTION_MODE="bwrap", WARM_POOL_SIZE="0") as (cold, _):
            report["bwrap_steady"] = steady({"pool": pool, "cold": cold}, args.runs,
                                            args.interval, args.block)
    if "load" in parts:
        report["docker_load"] = load(args.requests)
    if "idle" in parts:
        report["idle_docker"] = idle_docker(args.idle_window)
        if not args.skip_bwrap:
            report["idle_bwrap"] = idle_bwrap(args.idle_window)
    if "pause" in parts:
        report["docker_pause"] = pause(20)
    report["loadavg_after"] = loadavg()
    report["targets"] = targets(report)
    print(json.dumps(report, indent=2))


def targets(r: dict) -> dict:
    out: dict = {}
    if "docker_steady" in r:
        out.update(_steady_targets(r))
    if "bwrap_steady" in r:
        out["bwrap_sql_p50_le_60ms"] = r["bwrap_steady"]["pool_sql"]["p50_ms"] <= 60
    if "docker_load" in r:
        rounds = r["docker_load"]["rounds"]
        out["zero_5xx"] = all(x["http_5xx"] == 0 for x in rounds)
        out["zero_leaked"] = r["docker_load"]["leaked_sandboxes_after_stop"] == 0
        for c in (4, 8):
            pool = next(x for x in rounds if x["server"] == "pool" and x["concurrency"] == c)
            cold = next(x for x in rounds if x["server"] == "cold" and x["concurrency"] == c)
            out[f"throughput_pool_over_cold_c{c}"] = round(
                pool["throughput_ok_per_s"] / max(cold["throughput_ok_per_s"], 0.01), 3)
    return out


def _steady_targets(r: dict) -> dict:
    d = r["docker_steady"]
    return {
        "docker_sql_p50_le_80ms": d["pool_sql"]["p50_ms"] <= 80,
        "docker_python_p50_le_100ms": d["pool_python"]["p50_ms"] <= 100,
        "docker_p95_le_250ms": max(d["pool_sql"]["p95_ms"], d["pool_python"]["p95_ms"]) <= 250,
        "docker_pool_sql_p50_over_baseline_p50": round(
            d["pool_sql"]["p50_ms"] / d["baseline_true"]["p50_ms"], 3),
        "docker_cold_sql_p50_over_baseline_p50": round(
            d["cold_sql"]["p50_ms"] / d["baseline_true"]["p50_ms"], 3),
    }


if __name__ == "__main__":
    main()

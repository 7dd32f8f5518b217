"""Throughput and errors under concurrency, printed as JSON.

A real agent server (EXECUTION_MODE=docker, MAX_SANDBOXES=4) takes a bounded
number of /api/query requests from 4 and then 8 concurrent clients. 429s are
expected past the cap (clients honour Retry-After once); 5xx responses and
sandbox containers left behind are not. Also reports the server's RSS and the
runner image size.

  python -m bench.load [--requests 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import time
from collections import Counter

import httpx

from bench.server import SIMPLE_SQL, agent_server, auth, leaked_sandboxes, rss_mb
from bench.stats import summary


async def client_loop(
    client: httpx.AsyncClient, todo: asyncio.Queue, codes: Counter, latencies: list[float]
) -> None:
    while True:
        try:
            todo.get_nowait()
        except asyncio.QueueEmpty:
            return
        start = time.perf_counter()
        resp = await client.post("/api/query", json={"language": "sql", "code": SIMPLE_SQL})
        if resp.status_code == 429:
            codes["429"] += 1
            await asyncio.sleep(min(float(resp.headers.get("Retry-After", "1")), 2.0))
            resp = await client.post("/api/query", json={"language": "sql", "code": SIMPLE_SQL})
        codes[str(resp.status_code)] += 1
        if resp.status_code == 200:
            codes["status_" + resp.json()["status"]] += 1
            latencies.append((time.perf_counter() - start) * 1000)


async def run_load(url: str, concurrency: int, requests: int) -> dict[str, object]:
    todo: asyncio.Queue = asyncio.Queue()
    for i in range(requests):
        todo.put_nowait(i)
    codes: Counter = Counter()
    latencies: list[float] = []
    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, headers=auth(url), timeout=60) as client:
        await asyncio.gather(*(client_loop(client, todo, codes, latencies) for _ in range(concurrency)))
    wall = time.perf_counter() - start
    return {
        "concurrency": concurrency,
        "requests": requests,
        "wall_s": round(wall, 2),
        "throughput_ok_per_s": round(codes["status_ok"] / wall, 2),
        "responses": dict(sorted(codes.items())),
        "http_5xx": sum(n for code, n in codes.items() if code.startswith("5")),
        "latency_ok": summary(latencies) if latencies else None,
    }


def image_size_mb(image: str) -> float:
    out = subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}", image],
                         capture_output=True, text=True, check=True).stdout
    return round(int(out) / 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    image = os.environ.get("RUNNER_IMAGE", "corral/runner:latest")
    report: dict[str, object] = {"max_sandboxes": 4, "runner_image_mb": image_size_mb(image)}
    with agent_server(EXECUTION_MODE="docker", RUNNER_IMAGE=image, MAX_SANDBOXES="4") as (url, proc):
        report["agent_rss_mb_idle"] = rss_mb(proc.pid)
        report["load"] = [asyncio.run(run_load(url, c, args.requests)) for c in (4, 8)]
        report["agent_rss_mb_after_load"] = rss_mb(proc.pid)
        report["still_serving"] = httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    report["leaked_sandbox_containers"] = leaked_sandboxes()
    report["targets"] = {
        "zero_5xx": all(r["http_5xx"] == 0 for r in report["load"]),  # type: ignore[index]
        "zero_leaked_containers": report["leaked_sandbox_containers"] == 0,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

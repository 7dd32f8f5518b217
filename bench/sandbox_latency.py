"""Sandbox latency: one simple SQL query, N times, three ways; prints JSON.

    python bench/sandbox_latency.py [--runs 30] [--skip-bwrap]

- baseline: a bare `docker run --rm -i IMAGE` of the runner image, request on stdin
- docker_executor: DockerExecutor.run (same image, every hardening flag, removal included)
- bwrap_executor: BubblewrapExecutor.run

The target on a 2-core machine: docker_executor p50 <= 1.3 x baseline p50, p95 <= 800 ms.
Runs alternate between the ways so that machine load hits them alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.executors.bwrap import BubblewrapExecutor
from app.executors.docker import DockerExecutor
from app.settings import load_settings
from bench.stats import summary
from runner.contract import make_request

QUERY = "SELECT species, count(*) FROM penguins GROUP BY 1"
REPO = Path(__file__).resolve().parents[1]


def request() -> dict:
    return make_request(f"bench-{uuid.uuid4().hex[:12]}", "sql", QUERY, 200, 5000)



def bare_docker_run(image: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(["docker", "run", "--rm", "-i", image], input=json.dumps(request()),
                          capture_output=True, text=True, check=True)
    elapsed = (time.perf_counter() - started) * 1000
    assert json.loads(done.stdout)["status"] == "ok", done.stdout[:300]
    return elapsed


FAILURES: list[str] = []


async def executor_run(executor) -> float | None:
    started = time.perf_counter()
    result = await executor.run(request())
    elapsed = (time.perf_counter() - started) * 1000
    if result["status"] != "ok":
        # Reported, not timed (e.g. another process's sweep removed the container).
        FAILURES.append(f"{executor.name}: {result['status']}: {result['error']['message']}")
        return None
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--skip-bwrap", action="store_true")
    args = parser.parse_args()

    settings = load_settings(datasets_path=REPO / "datasets")
    docker_ex = DockerExecutor(settings)
    bwrap_ex = None if args.skip_bwrap else BubblewrapExecutor(settings)
    await docker_ex.check()
    # Warm-up (page cache, image layers, the client's connection) is not measured.
    bare_docker_run(settings.runner_image)
    await executor_run(docker_ex)
    if bwrap_ex:
        await bwrap_ex.check()
        await executor_run(bwrap_ex)

    samples: dict[str, list[float]] = {"baseline_docker_run": [], "docker_executor": []}
    if bwrap_ex:
        samples["bwrap_executor"] = []
    for _ in range(args.runs):
        samples["baseline_docker_run"].append(
            await asyncio.to_thread(bare_docker_run, settings.runner_image))
        for name, executor in (("docker_executor", docker_ex), ("bwrap_executor", bwrap_ex)):
            if executor and (elapsed := await executor_run(executor)) is not None:
                samples[name].append(elapsed)
    await docker_ex.close()

    out = {name: summary(values) for name, values in samples.items()}
    ratio = out["docker_executor"]["p50_ms"] / out["baseline_docker_run"]["p50_ms"]
    out["failed_runs"] = FAILURES
    out["query"] = QUERY
    out["image"] = settings.runner_image
    out["docker_executor_p50_over_baseline_p50"] = round(ratio, 3)
    out["targets"] = {
        "ratio_le_1_3": ratio <= 1.3,
        "docker_executor_p95_le_800ms": out["docker_executor"]["p95_ms"] <= 800,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())

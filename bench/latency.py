"""End-to-end latency of one simple SQL query, printed as JSON.

Measured in one run, on this machine, back to back:
  baseline      a bare `docker run --rm -i` of the runner image with the same request
  api_docker    POST /api/query through a real agent server, EXECUTION_MODE=docker
  api_bwrap     the same through EXECUTION_MODE=bwrap
The issue's targets: api_docker p50 <= 1.3 x baseline p50, api_docker p95 <= 800 ms.

  python -m bench.latency [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time

import httpx

from bench.server import SIMPLE_SQL, agent_server, auth, rss_mb
from bench.stats import summary
from runner.contract import make_request

DOCKER_FLAGS = [
    "--network", "none", "--read-only", "--pids-limit", "64", "--memory", "512m",
    "--memory-swap", "512m", "--cpus", "0.5", "--tmpfs", "/tmp:rw,noexec,nosuid,size=64m",
    "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--user", "10001:10001",
    "--log-driver", "none",
]


def bare_docker_run(image: str, runs: int) -> list[float]:
    request = json.dumps(make_request("bench", "sql", SIMPLE_SQL, 200, 5000)).encode()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(
            ["docker", "run", "--rm", "-i", *DOCKER_FLAGS, image],
            input=request, capture_output=True, check=True,
        ).stdout
        samples.append((time.perf_counter() - start) * 1000)
        assert json.loads(out)["status"] == "ok", out[:300]
    return samples


def through_api(url: str, runs: int) -> list[float]:
    samples = []
    with httpx.Client(base_url=url, headers=auth(url), timeout=30) as client:
        for _ in range(runs):
            start = time.perf_counter()
            resp = client.post("/api/query", json={"language": "sql", "code": SIMPLE_SQL})
            samples.append((time.perf_counter() - start) * 1000)
            resp.raise_for_status()
            assert resp.json()["status"] == "ok", resp.text[:300]
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    image = os.environ.get("RUNNER_IMAGE", "corral/runner:latest")

    bare_docker_run(image, 3)  # warm the page cache before anything is measured
    report: dict[str, object] = {"runs": args.runs, "runner_image": image}
    report["baseline_bare_docker_run"] = summary(bare_docker_run(image, args.runs))

    with agent_server(EXECUTION_MODE="docker", RUNNER_IMAGE=image, MAX_SANDBOXES="4") as (url, proc):
        through_api(url, 3)
        report["api_docker"] = summary(through_api(url, args.runs))
        report["agent_rss_mb_docker_mode"] = rss_mb(proc.pid)

    with agent_server(EXECUTION_MODE="bwrap", MAX_SANDBOXES="4") as (url, proc):
        through_api(url, 3)
        report["api_bwrap"] = summary(through_api(url, args.runs))

    base = report["baseline_bare_docker_run"]["p50_ms"]  # type: ignore[index]
    api = report["api_docker"]  # type: ignore[assignment]
    report["ratio_api_docker_p50_to_baseline_p50"] = round(api["p50_ms"] / base, 2)
    report["targets"] = {
        "api_docker_p50_le_1.3x_baseline": api["p50_ms"] <= 1.3 * base,
        "api_docker_p95_le_800ms": api["p95_ms"] <= 800,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

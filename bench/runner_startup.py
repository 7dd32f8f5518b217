"""Start-up cost of the runner for a simple SQL query; prints JSON.

    .venv/bin/python bench/runner_startup.py [--runs 20] [--image corral/runner:latest]

Measures, each as median/p95 over --runs: `python -m runner` on the host venv;
and, when the image exists, `docker run` of the image with the request versus a
bare `docker run` of the same image (entrypoint /bin/true) as the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.stats import summary
from runner.contract import make_request

REQUEST = json.dumps(make_request("bench", "sql", "SELECT count(*) FROM penguins", 10, 5000))
DOCKER = ["docker", "run", "--rm", "-i", "--network", "none", "--read-only", "--cap-drop", "ALL",
          "--security-opt", "no-new-privileges", "--tmpfs", "/tmp:rw,noexec,nosuid,size=64m"]


def timed(cmd: list[str], stdin: str, env: dict[str, str] | None = None,
          cpu: list[float] | None = None) -> float:
    """Wall-clock ms of one run; appends the child's CPU ms to `cpu` (robust under load)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, input=stdin.encode(), capture_output=True, env=env, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed: {proc.stderr.decode()[-500:]}")
    return elapsed



def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--image", default=os.environ.get("RUNNER_IMAGE", "corral/runner:latest"))
    args = parser.parse_args()
    env = {**os.environ, "CORRAL_DATA_DIR": str(REPO / "datasets")}
    cpu: list[float] = []
    host = [timed([sys.executable, "-I", "-m", "runner"], REQUEST, env, cpu)
            for _ in range(args.runs)]
    out: dict[str, object] = {"host_python_m_runner": summary(host),
                              "host_python_m_runner_cpu": summary(cpu)}
    have_image = subprocess.run(["docker", "image", "inspect", args.image], capture_output=True,
                                check=False).returncode == 0
    if have_image:
        bare, runner = [], []
        for _ in range(args.runs):  # interleaved, so load changes hit both alike
            bare.append(timed([*DOCKER, "--entrypoint", "/bin/true", args.image], ""))
            runner.append(timed([*DOCKER, args.image], REQUEST))
        out["docker_run_bare"] = summary(bare)
        out["docker_run_runner"] = summary(runner)
        out["docker_ratio_p50"] = round(summary(runner)["p50_ms"] / summary(bare)["p50_ms"], 2)
        size = subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}", args.image],
                              capture_output=True, text=True, check=False).stdout.strip()
        out["image_size_mb"] = round(int(size) / 1e6) if size.isdigit() else None
    out["load_average"] = os.getloadavg()[0]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

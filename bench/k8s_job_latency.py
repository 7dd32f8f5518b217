"""Latency of one query as a Kubernetes Job, by stage; prints JSON.

    python -m bench.k8s_job_latency --kubeconfig PATH [--runs 30] [--parallel 4]

Runs K8sJobExecutor.run (the chart's runner template, the image already on the node)
in a namespace of its own, first one at a time, then `--parallel` at once, and
reports p50/p95 of the whole run and of each stage, in milliseconds since the run
began, as the executor saw them: created (the API server accepted the Job),
scheduled (a pod event names its node), started (the container is reported
running), runner_done (the framed result was read, or the container reported
ended), result_read (the result is built), deleted (Job and pod deleted). A stage the
run never saw (a result read before the container was reported running) is left out.
Target on a 2-core machine: total p50 <= 1000 ms one at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.executors.k8s import K8sJobExecutor
from app.settings import Settings
from bench.stats import summary
from runner.contract import make_request

REPO = Path(__file__).resolve().parents[1]
QUERY = "SELECT species, count(*) FROM penguins GROUP BY 1"
STAGES = ("created", "scheduled", "started", "runner_done", "result_read", "deleted")


def kubectl(kubeconfig: str, *args: str, stdin: str | None = None) -> str:
    tools = subprocess.run([str(REPO / "scripts" / "k8s-tools.sh")], text=True,
                           capture_output=True, check=True).stdout.strip()
    return subprocess.run([f"{tools}/kubectl", "--kubeconfig", kubeconfig, *args], input=stdin,
                          text=True, capture_output=True, check=True).stdout


def runner_template(tmp: Path) -> Path:
    """The chart's runner template, rendered with the image already on the node."""
    tools = subprocess.run([str(REPO / "scripts" / "k8s-tools.sh")], text=True,
                           capture_output=True, check=True).stdout.strip()
    out = subprocess.run([f"{tools}/helm", "template", "corral", str(REPO / "charts/corral"),
                          "--show-only", "templates/runner-template-configmap.yaml",
                          "--set", "images.runner.pullPolicy=IfNotPresent"],
                         text=True, capture_output=True, check=True).stdout
    import yaml

    (cm,) = [d for d in yaml.safe_load_all(out) if d]
    path = tmp / "runner-template.json"
    path.write_text(cm["data"]["runner-template.json"])
    return path


async def timed_runs(executor: K8sJobExecutor, runs: int, parallel: int) -> dict:
    totals: list[float] = []
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    failures: list[str] = []
    executor.stage_observer = lambda marks: [stages[k].append(v * 1000)
                                            for k, v in marks.items() if k in stages]

    async def one() -> None:
        started = time.perf_counter()
        result = await executor.run(make_request(f"bench-{uuid.uuid4().hex[:12]}", "sql",
                                                 QUERY, 200, 5000))
        if result["status"] != "ok":
            failures.append(f"{result['status']}: {result['error']['message'][:200]}")
            return
        totals.append((time.perf_counter() - started) * 1000)

    done = 0
    while done < runs:
        batch = min(parallel, runs - done)
        await asyncio.gather(*(one() for _ in range(batch)))
        done += batch
    return {
        "total": summary(totals) if totals else None,
        "stages_ms_since_start": {k: summary(v) for k, v in stages.items() if v},
        "failures": failures,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG", ""))
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--image", default=os.environ.get("RUNNER_IMAGE", "corral/runner:latest"))
    args = parser.parse_args()
    if not args.kubeconfig:
        sys.exit("k8s_job_latency: give --kubeconfig (or KUBECONFIG), e.g. the test cluster's")
    namespace = f"corral-bench-{uuid.uuid4().hex[:6]}"
    kubectl(args.kubeconfig, "create", "namespace", namespace)
    template = runner_template(Path(tempfile.mkdtemp(prefix="corral-bench-")))
    os.environ["KUBECONFIG"] = args.kubeconfig
    settings = Settings(execution_mode="k8s", k8s_namespace=namespace, runner_image=args.image,
                        k8s_runner_template=str(template), max_sandboxes=args.parallel)
    executor = K8sJobExecutor(settings)
    try:
        await timed_runs(executor, 2, 1)  # warm: client connections, image in page cache
        report = {
            "query": QUERY,
            "image": args.image,
            "sequential": await timed_runs(executor, args.runs, 1),
            f"parallel_{args.parallel}": await timed_runs(executor, args.runs, args.parallel),
        }
    finally:
        await executor.close()
        kubectl(args.kubeconfig, "delete", "namespace", namespace, "--wait=false")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())

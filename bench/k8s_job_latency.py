"""Latency of one query as a Kubernetes Job, by stage; prints JSON.

    python -m bench.k8s_job_latency --kubeconfig PATH [--runs 30] [--parallel 4]

Runs K8sJobExecutor.run (the chart's runner template, the image already on the node)
in a namespace of its own, first one at a time, then `--parallel` at once, and
reports p50/p95 of the whole run and of each stage, in milliseconds since the run
began. The executor's own stages: created (the API server accepted the Job), pod_seen
(the first event of its pod), scheduled (a node named), started (the container
reported running), log_open (the log stream answered), runner_done (the framed result
read, or the container reported ended), result_read, deleted (Job and pod deleted,
in the background after the answer: `total` ends when run() returns).
On the project's test cluster the runtime's own nanosecond timeline is merged in
(bench/containerd_events.py): sandbox_create/start, container_create/start/exit.
`breakdown` gives each step's own duration (p50/p95 of the per-run differences), so
the steps of one run add up to its total. A stage a run never saw (a result read
before the container was reported running) is left out. The one-at-a-time runs
alternate with runs of the same pod plus an emptyDir at /tmp
(`sequential_with_tmp_volume`): what mounting any volume costs, measured in the same
conditions. `--against REV` adds runs of that revision's executor to the same
interleaving (`sequential_at_REV`, totals only): a before/after under the same load.
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
import types
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.executors import k8s as k8s_executor
from app.executors.k8s import K8sJobExecutor, StageReport
from app.settings import Settings
from bench.containerd_events import RuntimeEvents
from bench.stats import summary
from runner.contract import make_request

REPO = Path(__file__).resolve().parents[1]
QUERY = "SELECT species, count(*) FROM penguins GROUP BY 1"
# In the order they happen in a typical run; each step of `breakdown` ends at one of them.
STAGES = ("created", "pod_seen", "scheduled", "sandbox_create", "sandbox_start",
          "container_create", "container_start", "container_exit", "started", "log_open",
          "runner_done", "result_read", "deleted")
STEPS = {  # step: (from stage, to stage), what is waited on in between
    "api_create_job": ("", "created"),
    "job_controller_pod": ("created", "pod_seen"),
    "schedule": ("pod_seen", "scheduled"),
    "kubelet_admit": ("scheduled", "sandbox_create"),
    "sandbox_start": ("sandbox_create", "sandbox_start"),
    "network_and_create": ("sandbox_start", "container_create"),
    "container_start": ("container_create", "container_start"),
    "runner_work": ("container_start", "container_exit"),
    "running_reported": ("container_start", "started"),
    "log_open": ("started", "log_open"),
    "result_from_log": ("log_open", "runner_done"),
    "build_result": ("runner_done", "result_read"),
    "delete": ("result_read", "deleted"),
}


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


def breakdown(timelines: list[dict[str, float]]) -> dict[str, dict]:
    """p50/p95 of each step's own duration, over the runs that saw both of its ends."""
    steps = {}
    for step, (start, end) in STEPS.items():
        spans = [t[end] - t.get(start, 0.0) for t in timelines
                 if end in t and (not start or start in t)]
        if spans:
            steps[step] = summary(spans)
    return steps


def executor_at(rev: str, settings: Settings) -> K8sJobExecutor:
    """The K8sJobExecutor of another git revision (its app/executors/k8s.py over this
    tree's other modules), for a before/after measured in the same conditions."""
    source = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:app/executors/k8s.py"],
                            text=True, capture_output=True, check=True).stdout
    module = types.ModuleType(f"k8s_executor_at_{rev}")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{rev}:app/executors/k8s.py", "exec"), module.__dict__)  # noqa: S102
    return module.K8sJobExecutor(settings)


def cluster_runtime(kubeconfig: str) -> RuntimeEvents | None:
    """containerd's event stream when the cluster is the project's own (its socket sits
    beside its kubeconfig), else None: other clusters give the executor's stages only."""
    socket = Path(kubeconfig).resolve().parent / "run" / "containerd.sock"
    if not socket.is_socket():
        return None
    runtime = RuntimeEvents(str(socket))
    runtime.start()
    return runtime


class PodShape:
    """Which pod the executor builds: its own, or, for the interleaved comparison, the same
    pod with an emptyDir at /tmp (what a runner pod mounted before it used /dev/shm, and
    what any pod with a volume pays: the kubelet's volume manager polls every 300 ms)."""

    tmp_volume = False


def _build_job(*args, **kwargs) -> dict:
    body = _executor_build_job(*args, **kwargs)
    if PodShape.tmp_volume:
        pod = body["spec"]["template"]["spec"]
        pod.setdefault("volumes", []).append({"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}})
        pod["containers"][0].setdefault("volumeMounts", []).append(
            {"name": "tmp", "mountPath": "/tmp"})
    return body


_executor_build_job = k8s_executor.build_job
k8s_executor.build_job = _build_job


@dataclass
class Runs:
    totals: list[float] = field(default_factory=list)
    reports: list[StageReport] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


async def timed_runs(executor: K8sJobExecutor, runs: int, parallel: int,
                     runtime: RuntimeEvents | None, shapes: tuple[bool, ...] = (False,),
                     other: K8sJobExecutor | None = None) -> list[dict]:
    """`runs` runs, `parallel` at a time, of each pod shape (tmp_volume) in turn, and of
    `other` (another revision's executor: totals only) after them."""
    variants = [(executor, shape) for shape in shapes] + ([(other, False)] if other else [])
    collected = [Runs() for _ in variants]

    async def one(executor: K8sJobExecutor, into: Runs) -> None:
        started = time.perf_counter()
        result = await executor.run(make_request(f"bench-{uuid.uuid4().hex[:12]}", "sql",
                                                 QUERY, 200, 5000))
        if result["status"] != "ok":
            into.failures.append(f"{result['status']}: {result['error']['message'][:200]}")
            return
        into.totals.append((time.perf_counter() - started) * 1000)

    done = 0
    while done < runs:
        batch = min(parallel, runs - done)
        for (ex, shape), into in zip(variants, collected, strict=True):
            PodShape.tmp_volume = shape
            ex.stage_observer = into.reports.append if ex is executor else None
            await asyncio.gather(*(one(ex, into) for _ in range(batch)))
        done += batch
    PodShape.tmp_volume = False
    await asyncio.sleep(0.5)  # the runtime's last events of the batch
    return [summarise(c, runtime) for c in collected]


def summarise(runs: Runs, runtime: RuntimeEvents | None) -> dict:
    timelines = []
    for r in runs.reports:
        marks = {k: v * 1000 for k, v in r.stages.items()}
        if runtime is not None:
            marks.update(runtime.timeline(r.wall_started, r.pod, r.container_id))
        timelines.append(marks)
    return {
        "total": summary(runs.totals) if runs.totals else None,
        "stages_ms_since_start": {k: summary([t[k] for t in timelines if k in t])
                                  for k in STAGES if any(k in t for t in timelines)},
        "breakdown": breakdown(timelines),
        "failures": runs.failures,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG", ""))
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--against", default="", metavar="GIT_REV",
                        help="also interleave runs of the executor of that revision")
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
    runtime = cluster_runtime(args.kubeconfig)
    other = executor_at(args.against, settings) if args.against else None
    try:
        await timed_runs(executor, 2, 1, runtime)  # warm: connections, image in page cache
        report = {"query": QUERY, "image": args.image, "load_average": os.getloadavg(),
                  "runtime_timeline": runtime is not None}
        # One at a time, interleaved run by run with the same pod plus a /tmp emptyDir.
        sequential = await timed_runs(executor, args.runs, 1, runtime, shapes=(False, True),
                                      other=other)
        report["sequential"], report["sequential_with_tmp_volume"] = sequential[:2]
        if other is not None:
            report[f"sequential_at_{args.against}"] = sequential[2]
        (report[f"parallel_{args.parallel}"],) = await timed_runs(
            executor, args.runs, args.parallel, runtime)
        report["load_average_after"] = os.getloadavg()
    finally:
        if runtime is not None:
            runtime.stop()
        await executor.close()
        if other is not None:
            await other.close()
        kubectl(args.kubeconfig, "delete", "namespace", namespace, "--wait=false")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())

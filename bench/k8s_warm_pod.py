"""What a pre-started runner pod per query would give on Kubernetes; prints JSON.

    python -m bench.k8s_warm_pod --kubeconfig PATH [--runs 30] [--idle 3]

A measurement for the design in docs/kubernetes.md ("A warm runner pod per query"), not
the pool itself. Each run creates the executor's own runner Job (build_job: the same
security context, labels, resources) with the runner in warm mode (CORRAL_RUNNER_WARM=1:
DuckDB and pandas imported, datasets opened, then blocked reading stdin) and the
container's `stdin: true, stdinOnce: true`, and no request in its environment. It times
the refill (Job created -> the runner's ready mark in the pod log), lets the pod sit
warm, then the hit: attach to the container's stdin/stdout through the API server
(`pods/attach`, WebSocket v5, the channel `kubectl attach` uses), send the request,
close stdin, read the framed result. Cold runs of the K8sJobExecutor are interleaved
run by run, same query, same conditions. Idle cost: memory and CPU of warm pods that
wait (from their cgroups, on the project's test cluster).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kubernetes import client, config, watch
from kubernetes.stream import stream
from kubernetes.stream.ws_client import STDIN_CHANNEL

from app.executors.k8s import CONTAINER, K8sJobExecutor, build_job
from app.executors.k8s_log import LogReader
from app.settings import Settings
from bench.k8s_job_latency import QUERY, kubectl, runner_template
from bench.stats import summary
from runner.contract import READY_MARK, WARM_ENV, make_request

IDLE_PODS = 3


def warm_job(name: str, image: str, template: dict) -> dict:
    """The executor's Job for a request, turned into a warm one: no request in the env."""
    placeholder = make_request("warm", "sql", "SELECT 1", 200, 5000)
    body = build_job(name, placeholder, image, template)
    (c,) = body["spec"]["template"]["spec"]["containers"]
    c["env"] = [e for e in c["env"] if e["name"] != "RUNNER_REQUEST"]
    c["env"].append({"name": WARM_ENV, "value": "1"})
    c["stdin"] = c["stdinOnce"] = True
    return body


def wait_ready(core: client.CoreV1Api, ns: str, job: str) -> tuple[str, float, float]:
    """(pod, running seen, ready mark seen) in seconds since the call."""
    t0 = time.monotonic()
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_pod, ns, label_selector=f"io.corral.job={job}",
                          timeout_seconds=60):
        pod = event["object"]
        statuses = pod.status.container_statuses or []
        if statuses and statuses[0].state.running:
            w.stop()
            break
    running = time.monotonic() - t0
    name = pod.metadata.name
    resp = core.read_namespaced_pod_log(name, ns, container=CONTAINER, follow=True,
                                        _preload_content=False, _request_timeout=30)
    seen = b""
    for chunk in resp.stream(4096, decode_content=False):
        seen += chunk
        if READY_MARK in seen:
            break
    resp.release_conn()
    return name, running, time.monotonic() - t0


def hit(core: client.CoreV1Api, ns: str, pod: str, request: dict) -> tuple[float, float, dict]:
    """Attach, send the request, close stdin, read the framed result: (attached, total, result)."""
    t0 = time.monotonic()
    ws = stream(core.connect_get_namespaced_pod_attach, pod, ns, container=CONTAINER,
                stdin=True, stdout=True, stderr=False, tty=False, _preload_content=False)
    attached = time.monotonic() - t0
    ws.write_stdin(json.dumps(request))
    ws.close_channel(STDIN_CHANNEL)
    out = LogReader(1 << 20)
    while ws.is_open() and out.framed_result() is None:
        ws.update(timeout=10)
        data = ws.read_stdout()
        if data:
            out.feed(data.encode() if isinstance(data, str) else data)
    ws.close()
    line = out.framed_result()
    return attached, time.monotonic() - t0, json.loads(line) if line else {"status": "none"}


def idle_cost(pods: list[tuple[str, str]], seconds: float = 10.0) -> dict:
    """Memory (MiB) and CPU (% of one core) of idle warm pods, from their cgroups (v1)."""
    root = Path("/sys/fs/cgroup")

    def group(kind: str, uid: str) -> Path | None:
        return next((p for p in (root / kind).rglob(f"pod{uid}") if p.is_dir()), None)

    groups = [(group("memory", uid), group("cpuacct", uid)) for _, uid in pods]
    groups = [(m, c) for m, c in groups if m and c]
    if not groups:
        return {"note": "no pod cgroups found (not the project's test cluster)"}
    before = [int((c / "cpuacct.usage").read_text()) for _, c in groups]
    time.sleep(seconds)
    after = [int((c / "cpuacct.usage").read_text()) for _, c in groups]
    rss = [int(next(ln.split()[1] for ln in (m / "memory.stat").read_text().splitlines()
                    if ln.startswith("total_rss "))) / 2**20 for m, _ in groups]
    cpu = [(a - b) / 1e9 / seconds * 100 for a, b in zip(after, before, strict=True)]
    return {"pods": len(groups), "rss_mib_each": [round(r, 1) for r in rss],
            "cpu_percent_each": [round(c, 2) for c in cpu], "over_s": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG", ""))
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--idle", type=float, default=3.0, help="seconds a warm pod waits")
    parser.add_argument("--image", default=os.environ.get("RUNNER_IMAGE", "corral/runner:latest"))
    args = parser.parse_args()
    if not args.kubeconfig:
        sys.exit("k8s_warm_pod: give --kubeconfig (or KUBECONFIG), e.g. the test cluster's")
    ns = f"corral-warm-{uuid.uuid4().hex[:6]}"
    kubectl(args.kubeconfig, "create", "namespace", ns)
    os.environ["KUBECONFIG"] = args.kubeconfig
    settings = Settings(execution_mode="k8s", k8s_namespace=ns, runner_image=args.image,
                        k8s_runner_template=str(runner_template(Path(tempfile.mkdtemp()))))
    executor = K8sJobExecutor(settings)
    core = client.CoreV1Api(config.new_client_from_config(args.kubeconfig))
    batch = client.BatchV1Api(core.api_client)
    marks: dict[str, list[float]] = {k: [] for k in
                                     ("refill_running", "refill_ready", "hit_attach", "hit", "cold")}
    failures: list[str] = []
    try:
        for i in range(args.runs + 1):  # the first pair warms connections; not counted
            name = f"corral-warm-{uuid.uuid4().hex[:10]}"
            batch.create_namespaced_job(ns, warm_job(name, args.image, executor.template))
            pod, running, ready = wait_ready(core, ns, name)
            time.sleep(args.idle)
            request = make_request(f"warm-{i}", "sql", QUERY, 200, 5000)
            attached, total, result = hit(core, ns, pod, request)
            batch.delete_namespaced_job(name, ns, propagation_policy="Background")
            core.delete_namespaced_pod(pod, ns, grace_period_seconds=0)
            t1 = time.perf_counter()
            cold = asyncio.run(executor.run(make_request(f"cold-{i}", "sql", QUERY, 200, 5000)))
            cold_ms = (time.perf_counter() - t1) * 1000
            if result.get("status") != "ok" or cold["status"] != "ok":
                failures.append(f"warm {result.get('status')}, cold {cold['status']}")
                continue
            if i:
                for key, value in (("refill_running", running * 1000),
                                   ("refill_ready", ready * 1000), ("hit_attach", attached * 1000),
                                   ("hit", total * 1000), ("cold", cold_ms)):
                    marks[key].append(value)
        idle = idle_pods(core, batch, ns, args.image, executor)
        report = {"query": QUERY, "image": args.image, "idle_before_hit_s": args.idle,
                  "load_average": os.getloadavg(),
                  **{k: summary(v) for k, v in marks.items() if v},
                  "idle_cost": idle, "failures": failures}
    finally:
        kubectl(args.kubeconfig, "delete", "namespace", ns, "--wait=false")
    print(json.dumps(report, indent=2))


def idle_pods(core: client.CoreV1Api, batch: client.BatchV1Api, ns: str, image: str,
              executor: K8sJobExecutor) -> dict:
    """Start IDLE_PODS warm pods, let them settle, measure what they cost while waiting."""
    names = [f"corral-idle-{uuid.uuid4().hex[:10]}" for _ in range(IDLE_PODS)]
    for name in names:
        batch.create_namespaced_job(ns, warm_job(name, image, executor.template))
    pods = [wait_ready(core, ns, name)[0] for name in names]
    time.sleep(3)
    uids = [(p, core.read_namespaced_pod(p, ns).metadata.uid.replace("-", "_")) for p in pods]
    cost = idle_cost(uids) if Path("/sys/fs/cgroup/memory").is_dir() else {}
    if "pods" not in cost:  # cgroupfs names pod dirs by the uid with dashes
        uids = [(p, core.read_namespaced_pod(p, ns).metadata.uid) for p in pods]
        cost = idle_cost(uids)
    return cost


if __name__ == "__main__":
    main()

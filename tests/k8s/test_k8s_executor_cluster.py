"""K8sJobExecutor on the real test cluster: real Jobs, pods, kubelet, quota, RBAC.

The executor authenticates as the chart's agent service account, bound to the chart's
Role (cluster_agent.py), in a namespace that enforces Pod Security `restricted`. Each
test asserts what a user would see (the status and its message) and that no runner
Job or pod is left once the run has returned. The statuses are the Docker executor's
for the same faults (app/executors/outcome.py, tests/sandbox/).

Faults a real cluster cannot produce on demand stay in test_k8s_executor.py against
the stand-in API server (listed in docs/kubernetes.md).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from cluster_agent import (
    AgentNamespace,
    can_i,
    create_namespace,
    sandbox_objects,
    service_account_kubeconfig,
    wait_gone,
)

from app.executors.base import ExecutorUnavailable
from app.executors.k8s import build_job
from app.executors.k8s_api import EXECUTOR_CALLS, FORBIDDEN_CALLS
from runner.contract import make_request, result_error

pytestmark = pytest.mark.k8s
# The session's real cluster (tests/k8s/cluster.py, the `k8s_cluster` fixture).
pytest.importorskip("cluster", reason="the real-cluster fixture (tests/k8s/cluster.py) "
                    "is not in this checkout")

# Finds the runner's private result descriptor (see tests/sandbox/test_adversarial.py).
RESULT_FDS = """
import os, stat
def result_fds():
    fds = []
    for name in os.listdir('/proc/self/fd'):
        fd = int(name)
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue
        if fd > 2 and (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISREG(mode)):
            try:
                os.write(fd, b'')
                fds.append(fd)
            except OSError:
                pass
    return fds
"""


@pytest.fixture(scope="module")
def agent_ns(k8s_cluster, tmp_path_factory) -> AgentNamespace:
    ns = create_namespace(k8s_cluster, "corral-exec", tmp_path_factory.mktemp("agent"))
    yield ns
    k8s_cluster.kubectl("delete", "namespace", ns.name, "--wait=false", check=False)


@pytest.fixture
def executor(agent_ns, k8s_cluster, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(agent_ns.kubeconfig))
    ex = agent_ns.executor()
    yield ex
    # Deletes run after the answer (K8sJobExecutor._delete_later); then nothing is left.
    assert ex.wait_deleted(), "the executor's deletes did not finish"
    if ex._api_client is not None:
        ex._api_client.close()
    left = sandbox_objects(k8s_cluster, agent_ns.name)
    assert left == [], f"runner Jobs/pods left after the run: {left}"


async def run(ex, code: str, language: str = "python", timeout_ms: int = 10000,
              **extra) -> dict:
    run_id = f"t-{uuid.uuid4().hex[:12]}"
    result = await ex.run(make_request(run_id, language, code, 200, timeout_ms, **extra))
    assert result_error(result) is None, result_error(result)
    assert result["run_id"] == run_id
    return result


def row(result: dict) -> dict:
    assert result["status"] == "ok", result["error"]
    return dict(zip([c["name"] for c in result["columns"]], result["rows"][0], strict=True))


# --- what users ask ---------------------------------------------------------------


async def test_sql_ok(executor):
    result = await run(executor, "SELECT species, count(*) AS n FROM penguins "
                       "GROUP BY species ORDER BY species", "sql")
    assert result["status"] == "ok", result["error"]
    assert [r[0] for r in result["rows"]] == ["Adelie", "Chinstrap", "Gentoo"]


async def test_python_ok_and_prints_are_kept_out_of_the_log(executor):
    code = "print('hello')\nresult = penguins.groupby('species').size().reset_index(name='n')"
    result = await run(executor, code)
    assert result["status"] == "ok", result
    assert result["row_count"] == 3
    assert "hello" in result["stdout"]


async def test_error_names_the_problem(executor):
    result = await run(executor, "SELECT nope FROM penguins", "sql")
    assert result["status"] == "error", result
    assert "nope" in result["error"]["message"]


async def test_scratch_space_is_a_capped_noexec_tmpfs_and_the_rest_is_read_only(executor):
    """Runner pods mount no volume (the kubelet's volume wait cost ~300 ms a run): temp
    files and the working directory are the pod's /dev/shm, as Docker's tmpfs /tmp."""
    code = """
import errno, os, shutil, stat, subprocess, tempfile
with tempfile.NamedTemporaryFile() as f:
    temp_dir = os.path.dirname(f.name)
with open('scratch.txt', 'w') as f:
    f.write('kept')
refused = []
for path in ('/tmp/x', '/x', '/usr/x'):
    try:
        open(path, 'w')
    except OSError as e:
        refused.append(e.errno == errno.EROFS)
shutil.copy('/bin/true', 'true')
os.chmod('true', stat.S_IRWXU)
try:
    subprocess.run(['./true'], check=True)
    exec_refused = False
except PermissionError:
    exec_refused = True
try:
    with open('big', 'wb') as f:
        for _ in range(100):
            f.write(b'x' * (1 << 20))
    full = False
except OSError as e:
    full = e.errno == errno.ENOSPC
result = pd.DataFrame([{'temp_dir': temp_dir, 'cwd': os.getcwd(), 'refused': sum(refused),
                        'exec_refused': exec_refused, 'capped': full}])
"""
    assert row(await run(executor, code)) == {"temp_dir": "/dev/shm", "cwd": "/dev/shm",
                                              "refused": 3, "exec_refused": True,
                                              "capped": True}


# --- faults, with Docker's statuses ---------------------------------------------------


async def test_spin_ignoring_signals_is_killed_at_the_deadline_as_timeout(executor):
    code = """
import signal
for s in (signal.SIGTERM, signal.SIGALRM, signal.SIGXCPU, signal.SIGINT):
    signal.signal(s, signal.SIG_IGN)
while True:
    pass
"""
    started = time.monotonic()
    result = await run(executor, code, timeout_ms=1000)
    took = time.monotonic() - started
    # The runner's watchdog thread still runs (the loop releases the GIL) and answers.
    assert result["status"] == "timeout", result
    assert "1000 ms" in result["error"]["message"]
    assert took < 60, took  # not the Job's activeDeadlineSeconds (61 s)


async def test_gil_holding_c_loop_is_killed_from_outside_as_timeout(executor):
    """sum() in C holds the GIL: no alarm, no watchdog in the runner can act. The executor
    deletes the pod at timeout + SANDBOX_GRACE_MS and answers with Docker's message,
    before RLIMIT_CPU (3 CPU-seconds at half a CPU) and long before the Job's deadline."""
    started = time.monotonic()
    result = await run(executor, "result = sum(range(10**14))", timeout_ms=1000)
    took = time.monotonic() - started
    assert result["status"] == "timeout", result
    assert "did not finish within its 1000 ms limit" in result["error"]["message"]
    assert took < 60, took


async def test_kernel_oom_kill_is_oom(executor):
    code = "chunks = []\nwhile True:\n    chunks.append(b'x' * (16 * 1024 * 1024))\n"
    result = await run(executor, code, timeout_ms=30000)
    assert result["status"] == "oom", result
    assert "memory" in result["error"]["message"].lower()


async def test_duckdb_memory_limit_is_oom(executor):
    # DuckDB stops at its own memory_limit (256MB, under the pod's 512Mi; ~300 MB peak).
    sql = "SELECT list(range) FROM range(100000000) GROUP BY range % 2"
    result = await run(executor, sql, "sql", timeout_ms=30000)
    assert result["status"] == "oom", result
    assert "Out of Memory" in result["error"]["message"]


async def test_flood_on_the_result_descriptor_is_output_limit(executor):
    code = RESULT_FDS + """
chunk = b'x' * (1024 * 1024)
for _ in range(64):
    for fd in result_fds():
        os.write(fd, chunk)
result = {'n': 1}
"""
    result = await run(executor, code, timeout_ms=30000, max_output_bytes=65536)
    assert result["status"] == "output_limit", result


async def test_stderr_flood_and_forged_lines_neither_drown_nor_replace_the_result(executor):
    code = """
import os, subprocess, sys
fake = b'{"version":1,"run_id":"x","status":"ok","columns":[],"rows":[],"row_count":0,' \\
       b'"truncated":false,"elapsed_ms":1,"error":null}\\n'
for _ in range(50):
    os.write(2, b'e' * (1024 * 1024))
    os.write(2, fake)
    os.write(1, fake)
subprocess.run(['sh', '-c', 'head -c 10000000 /dev/zero >&2'])
result = {'answer': 42}
"""
    result = await run(executor, code, timeout_ms=60000)
    assert row(result) == {"answer": 42}


async def test_process_limit_stops_a_fork_loop(executor):
    code = """
import os, time
children = 0
try:
    while children < 2000:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        children += 1
except OSError as exc:
    result = {'children': children, 'stopped_by': type(exc).__name__}
"""
    got = row(await run(executor, code, timeout_ms=20000))
    assert got["stopped_by"] == "BlockingIOError"
    assert got["children"] < 64


async def test_threads_are_capped_too(executor):
    code = """
import threading, time
n = 0
try:
    while n < 2000:
        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
        n += 1
except RuntimeError as exc:
    result = {'threads': n, 'stopped_by': type(exc).__name__}
"""
    got = row(await run(executor, code, timeout_ms=20000))
    assert got["threads"] < 64


async def test_missing_image_is_unavailable_and_names_it(agent_ns, k8s_cluster, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(agent_ns.kubeconfig))
    template = json.loads(agent_ns.template.read_text())
    template["imagePullPolicy"] = "Never"  # no registry here: never try to pull
    path = agent_ns.template.with_name("never-pull.json")
    path.write_text(json.dumps(template))
    ex = agent_ns.executor(runner_image="corral/runner:no-such-tag",
                           k8s_runner_template=str(path))
    result = await run(ex, "SELECT 1", "sql")
    assert result["status"] == "unavailable", result
    assert "corral/runner:no-such-tag cannot be pulled" in result["error"]["message"]
    assert ex.wait_deleted()
    assert sandbox_objects(k8s_cluster, agent_ns.name) == []


async def test_unschedulable_pod_times_out_saying_why(agent_ns, k8s_cluster, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(agent_ns.kubeconfig))
    template = json.loads(agent_ns.template.read_text())
    template.update(nodeSelector={"corral.example/none": "x"}, startupGraceSeconds=5)
    path = agent_ns.template.with_name("unschedulable.json")
    path.write_text(json.dumps(template))
    ex = agent_ns.executor(k8s_runner_template=str(path))
    result = await run(ex, "SELECT 1", "sql", timeout_ms=1000)
    assert result["status"] == "timeout", result
    assert "pod not scheduled" in result["error"]["message"]
    assert ex.wait_deleted()
    assert sandbox_objects(k8s_cluster, agent_ns.name) == []


async def test_quota_exhausted_is_unavailable(agent_ns, k8s_cluster, executor):
    quota = {"apiVersion": "v1", "kind": "ResourceQuota",
             "metadata": {"name": "no-jobs", "namespace": agent_ns.name},
             "spec": {"hard": {"count/jobs.batch": "0"}}}
    k8s_cluster.kubectl("apply", "-f", "-", input=json.dumps(quota))
    try:
        for _ in range(100):  # admission enforces a quota once its status is computed
            got = json.loads(k8s_cluster.kubectl("get", "resourcequota", "no-jobs", "-n",
                                                 agent_ns.name, "-o", "json").stdout)
            if got.get("status", {}).get("hard"):
                break
            await asyncio.sleep(0.2)
        result = await run(executor, "SELECT 1", "sql")
    finally:
        k8s_cluster.kubectl("delete", "resourcequota", "no-jobs", "-n", agent_ns.name)
    assert result["status"] == "unavailable", result
    assert "no quota left" in result["error"]["message"]


async def test_parallel_runs_up_to_max_sandboxes(executor):
    n = executor.settings.max_sandboxes
    results = await asyncio.gather(*(run(executor, f"SELECT {i} AS i", "sql")
                                     for i in range(n)))
    assert sorted(r["rows"][0][0] for r in results) == list(range(n))


# --- housekeeping and permissions --------------------------------------------------------


async def test_start_up_sweep_removes_what_a_crashed_agent_left(agent_ns, k8s_cluster,
                                                                 executor):
    """A Job whose agent died before deleting it: it finishes, the next agent's sweep
    removes it and the garbage collector its pod."""
    request = make_request("crashed-agent", "sql", "SELECT 1", 10, 5000)
    body = build_job(f"corral-run-{uuid.uuid4().hex[:12]}", request,
                     executor.settings.runner_image, executor.template)
    body["metadata"]["namespace"] = agent_ns.name
    k8s_cluster.kubectl("apply", "-f", "-", input=json.dumps(body))
    name = body["metadata"]["name"]
    k8s_cluster.kubectl("wait", "--for=condition=complete", f"job/{name}", "-n",
                        agent_ns.name, "--timeout=120s")
    assert await executor.sweep() >= 1
    assert wait_gone(k8s_cluster, agent_ns.name) == []


def test_role_allows_every_executor_call_and_nothing_listed_as_forbidden(agent_ns,
                                                                         k8s_cluster):
    allowed = {c: can_i(k8s_cluster, agent_ns.kubeconfig, agent_ns.name, c)
               for c in EXECUTOR_CALLS}
    assert all(allowed.values()), [c for c, ok in allowed.items() if not ok]
    granted = [c for c in FORBIDDEN_CALLS
               if can_i(k8s_cluster, agent_ns.kubeconfig, agent_ns.name, c)]
    assert granted == []
    # Namespace-scoped: nothing in another namespace.
    other = [c for c in EXECUTOR_CALLS if can_i(k8s_cluster, agent_ns.kubeconfig, "default", c)]
    assert other == []


async def test_readyz_check_passes_with_the_chart_role(executor):
    await executor.check()


async def test_rbac_forbidden_is_unavailable_and_check_names_what_is_missing(
        agent_ns, k8s_cluster, monkeypatch, tmp_path):
    k8s_cluster.kubectl("create", "serviceaccount", "nobody", "-n", agent_ns.name)
    config = tmp_path / "nobody.kubeconfig"
    config.write_text(service_account_kubeconfig(k8s_cluster, agent_ns.name, "nobody"))
    monkeypatch.setenv("KUBECONFIG", str(config))
    ex = agent_ns.executor()
    result = await run(ex, "SELECT 1", "sql")
    assert result["status"] == "unavailable", result
    assert "must grant create on jobs" in result["error"]["message"]
    with pytest.raises(ExecutorUnavailable) as err:
        await ex.check()
    assert "create jobs" in str(err.value) and "get pods/log" in str(err.value)

"""Proof of freshness for the warm pools (docker and bwrap): a warm sandbox serves one query,
is destroyed in every outcome, and nothing one query does is visible to the next.

Each test runs against the real pooled executor (real containers / real bwrap). Waits
are bounded polls for the pool to refill, never timing assertions.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid

import docker
import pytest
from sandbox_helpers import container_pids, host_processes_matching, run, sandbox_exists, table

from app.executors import cgroups
from app.executors.base import SANDBOX_LABEL
from app.executors.docker import DockerExecutor
from app.executors.pool import PooledExecutor

REFILL_WAIT_S = 120  # a bound on a shared two-core machine, not a performance claim


async def wait_ready(executor: PooledExecutor, n: int = 1) -> None:
    executor.pool.start()
    until = time.monotonic() + REFILL_WAIT_S
    while executor.pool.counts()["ready"] < n:
        assert time.monotonic() < until, f"the pool never refilled: {executor.pool.counts()}"
        await asyncio.sleep(0.1)


async def hit(executor: PooledExecutor, code: str, language: str = "python") -> dict:
    """One run that a warm sandbox serves (waits for one first)."""
    await wait_ready(executor)
    result = await run(executor, code, language)
    assert result["run_id"] in executor.served, "the run was not served by a warm sandbox"
    return result


async def test_a_warm_sandbox_serves_and_is_gone_after(pooled):
    await wait_ready(pooled, 2)
    ready = {pooled.backend.sandbox_id(w.sandbox) for w in pooled.pool._ready}
    result = await run(pooled, "SELECT count(*) AS n FROM penguins", "sql")
    assert result["rows"] == [[344]]
    served = pooled.served[result["run_id"]]
    assert served in ready  # it was one of the warm ones...
    assert not sandbox_exists(served)  # ...and it is destroyed (run() checks this too)
    python = await hit(pooled, "result = penguins.groupby('species').size().reset_index()")
    assert python["status"] == "ok" and python["row_count"] == 3


ROOM = """
import resource, threading
limit, _ = resource.getrlimit(resource.RLIMIT_AS)
size = int(next(l for l in open('/proc/self/status') if l.startswith('VmSize')).split()[1]) * 1024
threads = [threading.Thread(target=lambda: None) for _ in range(16)]
for t in threads:
    t.start()
for t in threads:
    t.join()
free = -1 if limit == resource.RLIM_INFINITY else (limit - size) // 2**20
result = {'free_address_space_mb': [free], 'threads_started': [len(threads)]}
"""


async def test_warming_leaves_a_run_the_room_a_cold_run_has(pooled):
    # What a warm runner prepared before its request must leave the run its limits: a
    # warm-up that also opened a second DuckDB took 530 MB more address space and 8 more
    # threads, and bwrap runs then failed with "can't start new thread" under RLIMIT_AS
    # (bwrap; Docker sets none: -1). The run must still be able to use its whole memory
    # limit, and to start threads.
    room = table(await hit(pooled, ROOM))
    assert room["threads_started"] == 16
    free = room["free_address_space_mb"]
    assert free == -1 or free >= pooled.settings.memory_limit_bytes // 2**20, room


async def test_each_query_gets_a_distinct_sandbox(pooled):
    ids = []
    for _ in range(3):
        result = await hit(pooled, "result = {'n': 1}")
        ids.append(pooled.served[result["run_id"]])
    assert len(set(ids)) == 3


LEAVE_TRACES = """
import os, subprocess, sys, builtins
open('/tmp/{m}', 'w').write('left behind')
os.environ['{m}'] = '1'
os.putenv('{m}', '1')
subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', '{m}'],
                 start_new_session=True, stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
builtins.{m} = 1
pd.{m} = 1
sys.modules['runner.database'].DEFAULT_MEMORY = '{m}'
result = {{'done': 1}}
"""

LOOK_FOR_TRACES = """
import os, sys, builtins
def cmdline_of(pid):
    try:
        return open(f'/proc/{{pid}}/cmdline', 'rb').read()
    except OSError:
        return b''
procs = [p for p in os.listdir('/proc') if p.isdigit()]
result = {{
    'tmp_file': os.path.exists('/tmp/{m}'),
    'env': '{m}' in os.environ,
    'process': any(b'{m}' in cmdline_of(p) for p in procs),
    'builtin': hasattr(builtins, '{m}'),
    'module_attr': hasattr(pd, '{m}'),
    'module_changed': sys.modules['runner.database'].DEFAULT_MEMORY == '{m}',
    'processes': len(procs),
}}
"""


async def test_nothing_one_query_leaves_is_visible_to_the_next(pooled):
    mark = f"corral_leak_{uuid.uuid4().hex[:12]}"
    left = await hit(pooled, LEAVE_TRACES.format(m=mark))
    assert table(left) == {"done": 1}
    # The background process died with its sandbox, on the host too (the kernel reaps a
    # pid namespace's last processes just after its init: a bounded wait, not a timing).
    until = time.monotonic() + 10
    while host_processes_matching(mark) and time.monotonic() < until:
        await asyncio.sleep(0.1)
    assert host_processes_matching(mark) == []
    seen = table(await hit(pooled, LOOK_FOR_TRACES.format(m=mark)))
    assert seen.pop("processes") <= 4  # init/runner only: no sleeper from before
    assert seen == {"tmp_file": False, "env": False, "process": False, "builtin": False,
                    "module_attr": False, "module_changed": False}


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("import os\nos._exit(3)", "crashed"),
        ("while True:\n    pass", "timeout"),
        ("x = []\nwhile True:\n    x.append(bytearray(16 * 1024 * 1024))", "oom"),
    ],
    ids=["crash", "timeout", "oom"],
)
async def test_a_failed_query_never_returns_its_sandbox(pooled, code, status):
    await wait_ready(pooled)
    # Only the spin needs a short deadline; a memory bomb at half a CPU on a busy machine
    # needs the default's time to reach the limit.
    result = await run(pooled, code, timeout_ms=3000 if status == "timeout" else 15000)
    assert result["status"] == status, result
    served = pooled.served[result["run_id"]]
    assert not sandbox_exists(served)
    ready = {pooled.backend.sandbox_id(w.sandbox) for w in pooled.pool._ready}
    assert served not in ready
    after = await hit(pooled, "SELECT 1 AS one", "sql")
    assert after["rows"] == [[1]] and pooled.served[after["run_id"]] != served


@pytest.mark.docker
async def test_warm_containers_removed_from_outside_fall_back_to_cold_and_refill(
    docker_pool_executor,
):
    pooled = docker_pool_executor
    await wait_ready(pooled, 2)
    warm = [w.sandbox.cid for w in pooled.pool._ready]
    # What another server's start-up sweep (or an operator) does to our warm containers.
    await asyncio.to_thread(subprocess.run, ["docker", "rm", "-f", *warm], check=True,
                            capture_output=True)
    misses = _metric(pooled, "warm_pool_misses")
    result = await run(pooled, "SELECT count(*) AS n FROM penguins", "sql")
    assert result["status"] == "ok" and result["rows"] == [[344]]
    assert result["run_id"] not in pooled.served  # served cold
    assert _metric(pooled, "warm_pool_misses") == misses + 1
    await wait_ready(pooled, 1)  # and replaced
    assert not set(warm) & {w.sandbox.cid for w in pooled.pool._ready}


@pytest.mark.docker
async def test_taken_container_that_vanishes_mid_run_is_answered_cold(docker_pool_executor):
    pooled = docker_pool_executor
    await wait_ready(pooled, 1)
    original = pooled.backend.run

    def removed_just_before(sandbox, request):  # the race: a sweep removes it as it is taken
        subprocess.run(["docker", "rm", "-f", sandbox.cid], check=True, capture_output=True)
        return original(sandbox, request)

    pooled.backend.run = removed_just_before
    try:
        result = await run(pooled, "SELECT 42 AS answer", "sql")
    finally:
        pooled.backend.run = original
    assert result["status"] == "ok" and result["rows"] == [[42]]


@pytest.mark.docker
async def test_sweep_keeps_live_warm_containers_and_removes_orphans(docker_pool_executor):
    pooled = docker_pool_executor
    await wait_ready(pooled, 1)
    live = {w.sandbox.cid for w in pooled.pool._ready}
    # An orphan: a warm container whose server died (its attach stream closed).
    orphan = pooled.backend.start()
    orphan.attached.close()
    orphan.sock.close()
    client = docker.from_env()
    try:
        until = time.monotonic() + 60
        while client.containers.get(orphan.cid).status == "running":
            assert time.monotonic() < until, "an orphaned warm runner kept waiting"
            await asyncio.sleep(0.2)  # stdin closed: the runner exits by itself
        other_server = DockerExecutor(pooled.settings)
        await other_server.sweep()
        await other_server.close()
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(orphan.cid)
        for cid in live:  # the sweep left the live pool alone
            assert client.containers.get(cid).status == "running"
            assert client.containers.get(cid).labels[SANDBOX_LABEL] == "runner"
    finally:
        client.close()


@pytest.mark.docker
async def test_warm_containers_have_the_cold_containers_flags(docker_pool_executor):
    pooled = docker_pool_executor
    await wait_ready(pooled, 1)
    cid = pooled.pool._ready[0].sandbox.cid
    client = docker.from_env()
    try:
        host = client.api.inspect_container(cid)["HostConfig"]
    finally:
        client.close()
    assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] is True
    assert host["PidsLimit"] == 64 and host["Memory"] == host["MemorySwap"] == 512 * 1024**2
    # One whole CPU while it warmed (docker_warm.WARM_UP_CPUS), the cold path's half CPU
    # once it is in the pool, before any request reaches it.
    assert host["NanoCpus"] == 500_000_000 and host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"] and host["Privileged"] is False
    assert kernel_cpu_limit(cid) == 0.5  # what the kernel enforces, not only Docker's record


def kernel_cpu_limit(cid: str) -> float:
    """The CPUs a container's cgroup allows, read from the kernel (cgroup v2 or v1)."""
    [pid] = container_pids([cid])
    group = cgroups.process_dir(pid, "cpu")
    if cgroups.version(cgroups.ROOT) == 2:
        quota, period = (group / "cpu.max").read_text().split()
    else:
        quota, period = ((group / f"cpu.cfs_{n}_us").read_text() for n in ("quota", "period"))
    return int(quota) / int(period)


async def test_closing_the_pool_destroys_every_warm_sandbox(pooled):
    settings = pooled.settings
    from app.executors import make_executor

    own = make_executor(settings.model_copy(update={"warm_pool_size": 2}))
    assert isinstance(own, PooledExecutor)
    await wait_ready(own, 2)
    ids = [own.backend.sandbox_id(w.sandbox) for w in own.pool._ready]
    await own.close()
    assert [i for i in ids if sandbox_exists(i)] == []


def _metric(pooled: PooledExecutor, name: str) -> float:
    metrics = pooled.pool.metrics
    return getattr(metrics, name)._value.get() if metrics is not None else float("nan")


async def test_bwrap_warm_confinements_are_held_only_while_their_sandbox_lives(bwrap_pool_executor):
    """Each warm bwrap sandbox holds a cgroup, a seccomp fd and (as root) a tmpfs mount
    from start to discard: after many runs only the sandboxes alive now hold one."""
    from app.executors import make_executor

    own = make_executor(bwrap_pool_executor.settings.model_copy(update={"warm_pool_size": 1}))
    backend = own.backend
    for _ in range(4):
        result = await hit(own, "result = {'n': 1}")
        assert result["status"] == "ok"
        assert len(backend.confined) <= own.pool.size
    await own.close()
    assert backend.confined == {}

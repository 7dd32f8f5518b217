"""Helpers for the sandbox suite: run a request, read the table, prove nothing is left behind."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

from app.executors.base import Executor
from app.settings import Settings, load_settings
from runner.contract import make_request, result_error

REPO = Path(__file__).resolve().parents[2]
DATASETS = REPO / "datasets"
# Set in this (the host) process before any sandbox starts; no sandbox may see it.
SECRET_NAME = "CORRAL_TEST_HOST_SECRET"
SECRET_VALUE = f"hunter2-{uuid.uuid4().hex}"
os.environ[SECRET_NAME] = SECRET_VALUE


def sandbox_settings(mode: str, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "execution_mode": mode,
        "datasets_path": DATASETS,
        "runner_dir": REPO / "runner",
        "sandbox_grace_ms": 3000,
        "warm_pool_size": 0,  # the cold path; the pooled fixtures ask for a pool
        # A deployment of this test process's own: the start-up sweep of a server another
        # test starts (DEPLOYMENT_ID "default") must not take these executors' sandboxes.
        "deployment_id": f"sandbox-tests-{os.getpid()}",
    }
    if os.environ.get("RUNNER_IMAGE"):
        base["runner_image"] = os.environ["RUNNER_IMAGE"]
    base.update(overrides)
    return load_settings(**base)


def new_run_id() -> str:
    return f"t-{uuid.uuid4().hex[:16]}"


async def run(
    executor: Executor,
    code: str,
    language: str = "python",
    *,
    timeout_ms: int = 15000,
    max_rows: int = 200,
    run_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One run; the result must be schema-valid and carry our run id, whatever happened."""
    run_id = run_id or new_run_id()
    request = make_request(run_id, language, code, max_rows, timeout_ms, **extra)
    result = await executor.run(request)
    assert result_error(result) is None, result_error(result)
    assert result["run_id"] == run_id
    assert_nothing_left(executor, run_id)
    return result


def table(result: dict[str, Any]) -> dict[str, Any]:
    """A one-row result as {column: value}; fails with the error a user would see."""
    assert result["status"] == "ok", result["error"]
    assert result["row_count"] == 1, result
    return dict(zip((c["name"] for c in result["columns"]), result["rows"][0], strict=True))


def assert_nothing_left(executor: Executor, run_id: str) -> None:
    """Nothing of the run still runs once its answer is back, and nothing is left at all
    once the executor's removals have drained (docker removes an exited container just
    after the answer: app/executors/docker_reaper.py)."""
    served = getattr(executor, "served", {}).get(run_id)
    if executor.name == "docker":
        # A warm sandbox is known by its id; a cold one by the run id on its label.
        which = [f"id={served}"] if served else ["label=io.corral.sandbox",
                                                 f"label=io.corral.run_id={run_id}"]
        # The engine's record may still say "running" for a moment after the stream ended;
        # the kernel's process table is the truth.
        running = [pid for pid in container_pids(_docker_ids(*which)) if _process_alive(pid)]
        assert running == [], f"sandbox process {running} still running after {run_id}"
        executor.drain()
        left = _docker_ids(*which)
        assert left == [], f"sandbox container(s) left behind after {run_id}: {left}"
    elif served is not None:  # a warm bwrap sandbox answered: it must be gone now
        assert not sandbox_exists(served), f"warm sandbox {served} left behind after {run_id}"


def _docker_ids(*filters: str) -> list[str]:
    """Containers (running or not) matching every `docker ps --filter` given."""
    args = [arg for f in filters for arg in ("--filter", f)]
    return subprocess.run(["docker", "ps", "-aq", "--no-trunc", *args],
                          capture_output=True, text=True, check=True).stdout.split()


def container_pids(cids: list[str]) -> list[int]:
    """The main process of each container (0 once the engine saw it exit; a container
    removed meanwhile is left out)."""
    if not cids:
        return []
    out = subprocess.run(["docker", "inspect", "--format", "{{.State.Pid}}", *cids],
                         capture_output=True, text=True, check=False).stdout
    return [int(pid) for pid in out.split() if pid.isdigit() and pid != "0"]


def _process_alive(pid: int | str) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def sandbox_exists(sandbox_id: str) -> bool:
    """A warm sandbox by its pool id: a container id (docker) or bwrap-PID (bwrap)."""
    if sandbox_id.startswith("bwrap-"):
        return _process_alive(sandbox_id.removeprefix("bwrap-"))
    return _docker_ids(f"id={sandbox_id}") != []


def host_processes_matching(marker: str) -> list[str]:
    """Command lines of host processes containing `marker` (container processes included:
    they are visible in the host's pid namespace)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if marker.encode() in cmdline and b"pytest" not in cmdline:
            found.append(cmdline.decode(errors="replace"))
    return found


async def assert_still_works(executor: Executor, *, fresh_tmp: bool = False) -> None:
    """After an attack, the next run in a fresh sandbox answers normally. With fresh_tmp,
    also that it sees nothing the attack left in /tmp (Python mode: slower to start)."""
    if not fresh_tmp:
        result = await run(executor, "SELECT count(*) AS n FROM penguins", "sql")
        assert result["status"] == "ok" and result["rows"] == [[344]], result
        return
    result = await run(
        executor,
        # Files only: a Python prefix that lives under /tmp on the host (a checkout in
        # /tmp) is bound read-only inside the fresh /tmp as a directory tree.
        "import os\nresult = {'n': len(penguins), "
        "'tmp_files': sum(1 for e in os.scandir('/tmp') if not e.is_dir(follow_symlinks=False))}",
    )
    assert table(result) == {"n": 344, "tmp_files": 0}

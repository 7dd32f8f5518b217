"""Two real releases of the agent server for upgrade tests: the one before migration 0002
(identity), unpacked from git, and this checkout; each started as its own uvicorn process
on one SQLite file, with real bwrap sandboxes."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from ports import free_port

REPO = Path(__file__).resolve().parents[2]
MIGRATION = "app/migrations/versions/0002_identity.py"


def unpack_previous_release(target: Path) -> Path:
    """The tree of the last commit before MIGRATION was added (app, runner, datasets of
    that release), unpacked into `target`."""
    log = subprocess.run(["git", "log", "--diff-filter=A", "--format=%H", "--", MIGRATION],
                         cwd=REPO, capture_output=True, text=True, check=False)
    added = log.stdout.split() if log.returncode == 0 else []
    if not added:  # a shallow clone or an export without .git: the old release is not there
        pytest.skip(f"the upgrade test needs the git history that adds {MIGRATION} "
                    f"(clone without --depth); git said: {log.stderr.strip()[:200]}")
    archive = subprocess.run(["git", "archive", f"{added[-1]}^", "app", "runner", "datasets"],
                             cwd=REPO, capture_output=True, check=True).stdout
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


class Refused(Exception):
    """The server exited instead of becoming ready; str() is what it printed."""


@contextlib.contextmanager
def serving(release: Path, database: Path) -> Iterator[str]:
    """Start `release` on `database`; yield its URL once /readyz answers 200, or raise
    Refused with the message it printed when it exited instead."""
    port = free_port()
    env = {**os.environ, "EXECUTION_MODE": "bwrap", "DATABASE_URL": f"sqlite:///{database}",
           "DATASETS_PATH": str(release / "datasets"), "RUNNER_DIR": str(release / "runner"),
           "WARM_POOL_SIZE": "0", "DEPLOYMENT_ID": f"upgrade-{uuid.uuid4().hex[:8]}",
           "LOG_LEVEL": "WARNING", "PYTHONPATH": str(release)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=release, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, url)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(proc: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Refused(proc.stderr.read())
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"{url} did not become ready within 90 s")


def start_refused(release: Path, database: Path) -> str:
    """What `release` prints when it refuses to start on `database` (fails if it starts)."""
    try:
        with serving(release, database):
            pass
    except Refused as exc:
        return str(exc)
    raise AssertionError(f"{release.name} started on {database}; it should have refused")

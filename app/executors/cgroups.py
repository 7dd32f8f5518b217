"""Sandbox-wide memory and process limits for bubblewrap sandboxes, through cgroups.

rlimits are per process: six children of one sandbox could each hold the memory
limit. A cgroup per run caps the whole sandbox, as Docker does for a container:
memory (swap included, so it cannot spill) and the number of tasks. cgroup v1 (one
hierarchy per controller, as on the machines the tests run on) and v2 (one unified
hierarchy) are both handled. The child process joins the cgroup between fork and
exec, so bwrap and everything inside it are counted from the first instruction.

Each deployment (DEPLOYMENT_ID, the id the docker executor labels its sandboxes with) has
a parent of its own, corral-sandboxes/<deployment>/, so two Corrals on one host (two venv
installs, an install and a test run) never sweep or count each other's sandboxes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PARENT = "corral-sandboxes"  # every deployment's parent lives under this one
CONTROLLERS = ("memory", "pids")


class CgroupUnavailable(Exception):
    """No sandbox-wide limit can be set here; the message says why and what to do."""


def version(root: Path) -> int:
    return 2 if (root / "cgroup.controllers").is_file() else 1


def deployment_dirs(deployment: str, root: Path | None = None) -> dict[str, Path]:
    """This deployment's parent in each controller's hierarchy (one directory on v2)."""
    root = root or ROOT  # read at call time: tests point it elsewhere
    if version(root) == 2:
        return dict.fromkeys(CONTROLLERS, root / PARENT / deployment)
    return {c: root / c / PARENT / deployment for c in CONTROLLERS}


def process_dir(pid: int, controller: str, root: Path | None = None) -> Path:
    """The cgroup directory process `pid` is in, for `controller` (e.g. a container's)."""
    root = root or ROOT
    groups = dict(line.split(":", 2)[1:]
                  for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines())
    if version(root) == 2:
        return root / groups[""].lstrip("/")
    path = next(p for names, p in groups.items() if controller in names.split(","))
    return root / controller / path.lstrip("/")


class SandboxCgroup:
    """One run's cgroup(s): create with limits, join from the child, read OOM, remove."""

    def __init__(self, name: str, memory_bytes: int, pids: int, root: Path | None = None,
                 deployment: str = "default") -> None:
        root = root or ROOT
        self.v2 = version(root) == 2
        self.dirs = {c: d / name for c, d in deployment_dirs(deployment, root).items()}
        self.memory_bytes, self.pids = memory_bytes, pids

    def create(self) -> None:
        try:
            self._create()
        except OSError as exc:
            self.remove()
            raise CgroupUnavailable(
                f"cannot create a cgroup for the sandbox ({exc.strerror}: {exc.filename})"
            ) from None

    def _create(self) -> None:
        if self.v2:  # each level hands the controllers down to the next
            deployment = self.dirs["memory"].parent
            for parent in (deployment.parent, deployment):
                parent.mkdir(exist_ok=True)
                (parent / "cgroup.subtree_control").write_text("+memory +pids")
        for directory in set(self.dirs.values()):
            directory.mkdir(parents=True, exist_ok=True)
        memory, pids = self.dirs["memory"], self.dirs["pids"]
        if self.v2:
            (memory / "memory.max").write_text(str(self.memory_bytes))
            (memory / "memory.swap.max").write_text("0")
        else:
            (memory / "memory.limit_in_bytes").write_text(str(self.memory_bytes))
            swap = memory / "memory.memsw.limit_in_bytes"
            if swap.exists():  # absent when the kernel runs without swap accounting
                swap.write_text(str(self.memory_bytes))
        (pids / "pids.max").write_text(str(self.pids))

    def join(self) -> None:
        """Move the calling process in (runs in the child between fork and exec)."""
        pid = str(os.getpid())
        for directory in set(self.dirs.values()):
            with open(directory / "cgroup.procs", "w") as procs:
                procs.write(pid)

    def oom_killed(self) -> bool:
        name = "memory.events" if self.v2 else "memory.oom_control"
        with contextlib.suppress(OSError):
            for line in (self.dirs["memory"] / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        return False

    def remove(self) -> None:
        """Kill whatever is left in the cgroup, then remove it (idempotent)."""
        for directory in set(self.dirs.values()):
            _remove(directory)


def _remove(directory: Path) -> bool:
    for _ in range(50):
        if not directory.exists():
            return True
        _kill_all(directory)
        try:
            directory.rmdir()
            return True
        except OSError:
            time.sleep(0.02)  # tasks still exiting
    return False


def _kill_all(directory: Path) -> None:
    with contextlib.suppress(OSError):
        for pid in (directory / "cgroup.procs").read_text().split():
            with contextlib.suppress(ProcessLookupError, PermissionError, ValueError):
                os.kill(int(pid), signal.SIGKILL)


def sweep(deployment: str, root: Path | None = None) -> int:
    """Kill and remove the run cgroups this deployment's earlier process left (a crash, a
    kill -9); another deployment's parent is never read. Returns how many runs."""
    removed: set[str] = set()
    for parent in set(deployment_dirs(deployment, root).values()):
        with contextlib.suppress(OSError):  # no parent yet: nothing was ever left
            for run in [d for d in parent.iterdir() if d.is_dir()]:
                if _remove(run):
                    removed.add(run.name)
    return len(removed)


def probe(memory_bytes: int, pids: int, root: Path | None = None,
          deployment: str = "default") -> None:
    """Raise CgroupUnavailable unless a run's cgroup can be created and limited here."""
    group = SandboxCgroup(f"probe-{os.getpid()}", memory_bytes, pids, root, deployment)
    try:
        group.create()
    finally:
        group.remove()

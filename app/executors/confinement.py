"""What bubblewrap alone does not give a sandbox, set up around one bwrap run.

* a seccomp filter (seccomp_filter.py), passed to bwrap as a file descriptor;
* a sandbox-wide memory and task limit (cgroups.py), joined before bwrap starts;
* as root, a noexec /tmp bound from a host tmpfs (private_tmp.py).

Where no cgroup can be made, the run is refused unless the operator opted in with
BWRAP_ALLOW_PER_PROCESS_LIMITS=true; `weaker` then says what is missing, and
/readyz shows it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any

from app.executors import cgroups, seccomp_filter
from app.executors.base import ExecutorUnavailable
from app.executors.private_tmp import PrivateTmp

OPT_IN = "BWRAP_ALLOW_PER_PROCESS_LIMITS"


class Confinement:
    def __init__(self, name: str, settings: Any, as_root: bool, tmp_bytes: int) -> None:
        self.settings = settings
        self.group: cgroups.SandboxCgroup | None = None
        self.tmp: PrivateTmp | None = PrivateTmp(tmp_bytes) if as_root else None
        self.tmp_source: str | None = None
        self.seccomp_fd = -1
        self.weaker: str | None = None
        self._name = name

    def open(self) -> Confinement:
        """Set everything up, or raise ExecutorUnavailable naming what is missing."""
        try:
            self.seccomp_fd = seccomp_filter.program_fd()
            self._open_cgroup()
            if self.tmp is not None:
                self.tmp_source = self.tmp.__enter__()
        except seccomp_filter.SeccompUnavailable as exc:
            self.close()
            raise ExecutorUnavailable(f"bubblewrap mode needs a seccomp filter: {exc}") from None
        except OSError as exc:
            self.close()
            raise ExecutorUnavailable(f"bubblewrap mode cannot set up the sandbox: {exc}") from None
        return self

    def _open_cgroup(self) -> None:
        s = self.settings
        group = cgroups.SandboxCgroup(self._name, s.memory_limit_bytes, s.sandbox_pids_limit,
                                      deployment=s.deployment_id)
        try:
            group.create()
        except cgroups.CgroupUnavailable as exc:
            if not s.bwrap_allow_per_process_limits:
                raise ExecutorUnavailable(
                    f"bubblewrap mode needs a sandbox-wide memory and process limit, but {exc}."
                    " Run the agent as root with /sys/fs/cgroup writable (cgroup v1 or v2), or"
                    " set BWRAP_ALLOW_PER_PROCESS_LIMITS=true to accept per-process limits"
                    " only (several processes in one sandbox can then use more in total)."
                ) from None
            self.weaker = f"per-process limits only ({OPT_IN}=true): {exc}"
            return
        self.group = group

    def preexec(self, limits: Callable[[], None]) -> Callable[[], None]:
        """The child's set-up between fork and exec: rlimits, then join the cgroup."""
        group = self.group

        def apply() -> None:
            limits()
            if group is not None:
                group.join()

        return apply

    def oom_killed(self) -> bool:
        return self.group is not None and self.group.oom_killed()

    def close(self) -> None:
        """Undo everything (every outcome; idempotent)."""
        if self.group is not None:
            self.group.remove()
            self.group = None
        if self.tmp is not None and self.tmp_source:
            with contextlib.suppress(OSError):
                self.tmp.__exit__(None, None, None)
            self.tmp_source = None
        if self.seccomp_fd >= 0:
            os.close(self.seccomp_fd)
            self.seccomp_fd = -1

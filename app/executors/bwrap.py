"""BubblewrapExecutor: the no-Docker path: namespaces, read-only binds and rlimits.

Each run is one `bwrap` process: new pid, network (no interfaces but loopback),
ipc, uts and (where possible) cgroup namespaces, an empty root with read-only binds
of only what the runner needs (/usr and the /lib dirs, the Python prefix and venv,
the runner source at /opt/corral/runner, the datasets at /data), a fresh /proc and
/dev, a private size-capped /tmp, a cleared environment, and the runner as uid
10001 with no capabilities and no_new_privs. rlimits (memory, processes, file size,
CPU) are set before exec and inherited by everything inside.

How the non-root uid is reached depends on who we are:

* root (the agent server's own container, CI): bwrap runs privileged with no user
  namespace, /tmp is bound from a per-run noexec host tmpfs, and `setpriv` drops to
  host uid 10001 with an empty capability bounding set. The sandbox is then a real
  unprivileged host user, so RLIMIT_NPROC holds (the kernel never enforces it for uid
  0, not even for uid 0 mapped into a user namespace: a fork bomb would run free).
* not root: bwrap makes a user namespace and maps our uid to 10001 inside, with
  --disable-userns so code inside cannot make another. /tmp cannot be made noexec
  this way (bwrap has no mount options).

In both, confinement.py adds what bwrap alone lacks next to Docker: a seccomp filter
(no new namespaces, mounts, ptrace, keyring, bpf, ...) and a cgroup that caps the
memory and tasks of the whole sandbox, not only of each process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import resource
import shutil
import subprocess
import threading
from functools import cached_property
from pathlib import Path
from typing import Any

from app.executors import cgroups
from app.executors.base import SANDBOX_ENV, SANDBOX_UID, Executor, ExecutorUnavailable
from app.executors.confinement import Confinement
from app.executors.data_files import UNREADABLE, files_for, table_files
from app.executors.outcome import output_cap, result_from
from app.executors.process import run_process
from app.settings import Settings
from runner import contract

log = logging.getLogger(__name__)

SANDBOX_GID = SANDBOX_UID
RUNNER_PARENT = "/opt/corral"  # the runner package is bound at /opt/corral/runner
# A DuckDB connection plus pandas reserve ~1 GB of address space they never touch,
# so RLIMIT_AS gets this headroom; RLIMIT_DATA (private writable memory: what a
# memory bomb allocates) gets exactly SANDBOX_MEMORY_LIMIT.
ADDRESS_SPACE_HEADROOM = 1024**3
OPEN_FILES = 256
# Directories that are symlinks into /usr on merged-/usr systems, real dirs elsewhere.
SYSTEM_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")



def _data_binds(folder: Path, tables: str | None) -> list[str]:
    """--ro-bind arguments for /data: the whole folder, or for a request limited to some
    tables only manifest.json and their files (the others are not in the sandbox)."""
    if tables is None:
        return ["--ro-bind", str(folder), "/data"]
    try:
        files = table_files(folder)
    except UNREADABLE as exc:
        raise ExecutorUnavailable(f"DATASETS_PATH={folder}: cannot read manifest.json: {exc}") \
            from None
    binds = ["--perms", "0755", "--dir", "/data"]
    for name in files_for(tables, files):
        binds += ["--ro-bind", str(folder / name), f"/data/{name}"]
    return binds

class BubblewrapExecutor(Executor):
    name = "bwrap"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.as_root = os.geteuid() == 0

    # --- run -----------------------------------------------------------------------

    async def run(self, request: dict[str, Any]) -> dict[str, Any]:
        run_id = request["run_id"]
        deadline_s = (request["timeout_ms"] + self.settings.sandbox_grace_ms) / 1000
        confined = self._confinement(run_id)
        try:
            # Off the event loop: the first call asks the interpreter for its prefixes,
            # every call scans /proc for the process limit and sets up the confinement.
            argv, limits = await asyncio.to_thread(
                lambda: (self._argv(confined.open(), request.get("tables")),
                         self._limits(deadline_s))
            )
            end = await run_process(
                argv,
                json.dumps(request).encode(),
                deadline_s=deadline_s,
                output_cap=output_cap(request),
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                cwd="/",
                preexec_fn=confined.preexec(limits),
                pass_fds=[confined.seccomp_fd],
            )
            end.oom_killed = end.oom_killed or confined.oom_killed()
        except ExecutorUnavailable as exc:
            return contract.failed_result(run_id, "unavailable", None, str(exc), 0)
        finally:
            await asyncio.to_thread(confined.close)
        return result_from(request, end)

    def _confinement(self, name: str) -> Confinement:
        return Confinement(name, self.settings, self.as_root, _bytes(self.settings.sandbox_tmp_size))

    def _argv(self, confined: Confinement, tables: str | None = None) -> list[str]:
        """The bwrap command line; `tables` (a request limited to the datasets its user
        may see) binds only manifest.json and those tables' files at /data."""
        s = self.settings
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise ExecutorUnavailable(_NOT_INSTALLED)
        if not (Path(s.datasets_path) / "manifest.json").is_file():
            raise ExecutorUnavailable(
                f"DATASETS_PATH={s.datasets_path} has no manifest.json: point it at the "
                "datasets directory (manifest.json + *.parquet)."
            )
        argv = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv",
                "--seccomp", str(confined.seccomp_fd)]
        if not self.as_root:
            argv += ["--unshare-user", *self._disable_userns, "--uid", str(SANDBOX_UID),
                     "--gid", str(SANDBOX_GID), "--cap-drop", "ALL"]
        argv += ["--ro-bind", "/usr", "/usr"]
        for d in SYSTEM_DIRS:
            if os.path.islink(d):
                argv += ["--symlink", os.readlink(d), d]
            elif os.path.isdir(d):
                argv += ["--ro-bind", d, d]
        # The private /tmp comes before the binds: bwrap mounts in order, and a Python
        # prefix or checkout that lives under /tmp must stay visible on top of it.
        argv += ["--proc", "/proc", "--dev", "/dev"]
        if confined.tmp_source:  # root: a noexec host tmpfs (bind mounts keep its flags)
            argv += ["--bind", confined.tmp_source, "/tmp"]
        else:
            argv += ["--perms", "1777", "--size", str(_bytes(s.sandbox_tmp_size)), "--tmpfs", "/tmp"]
        for prefix in self._python_prefixes:
            argv += _parents(prefix) + ["--ro-bind", prefix, prefix]
        argv += [
            "--perms", "0755", "--dir", RUNNER_PARENT,
            "--ro-bind", str(Path(s.runner_dir).resolve()), f"{RUNNER_PARENT}/runner",
            *_data_binds(Path(s.datasets_path).resolve(), tables),
            "--chdir", "/tmp",
        ]
        env = dict(SANDBOX_ENV, PYTHONNOUSERSITE="1", PATH="/usr/bin:/bin", HOME="/tmp", LANG="C.UTF-8",
                   PYTHONPATH=RUNNER_PARENT, CORRAL_DATA_DIR="/data")
        for key, value in env.items():
            argv += ["--setenv", key, value]
        runner = [str(s.runner_python), "-m", "runner"]
        if not self.as_root:
            return argv + ["--", *runner]
        # Privileged bwrap: become uid 10001 for good.
        drop = ["/usr/bin/setpriv", f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_GID}",
                "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
        return argv + ["--", *drop, "--", *runner]

    @cached_property
    def _disable_userns(self) -> list[str]:
        """["--disable-userns"] where bwrap can apply it, asked once.

        It writes user.max_user_namespaces through the outer /proc, which a container
        may mount read-only; the seccomp filter refuses nested user namespaces anyway, so
        there the flag is left out (and the log says so) rather than bwrap mode lost.
        """
        probe = [shutil.which("bwrap") or "bwrap", "--unshare-user", "--disable-userns",
                 "--ro-bind", "/", "/", "--", "/bin/true"]
        try:
            done = subprocess.run(probe, capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            done = subprocess.CompletedProcess(probe, 1, "", str(exc))
        if done.returncode == 0:
            return ["--disable-userns"]
        log.warning("bwrap --disable-userns does not work here (%s); nested user namespaces "
                    "stay refused by the seccomp filter", done.stderr.strip()[:200])
        return []

    @cached_property
    def _python_prefixes(self) -> list[str]:
        """The interpreter's venv and base prefix (outside /usr), asked once."""
        python = str(self.settings.runner_python)
        try:
            out = subprocess.run(
                [python, "-c", "import sys; print(sys.prefix); print(sys.base_prefix)"],
                capture_output=True, text=True, timeout=30, check=True,
            ).stdout.split()
        except (OSError, subprocess.SubprocessError) as exc:
            raise ExecutorUnavailable(
                f"RUNNER_PYTHON={python} does not run ({exc}); point it at a Python 3.11 "
                "that has the runner dependencies (pip install '.[runner]')."
            ) from None
        prefixes = []
        for p in out:
            real = os.path.realpath(p)
            if not real.startswith("/usr/") and real != "/usr" and real not in prefixes:
                prefixes.append(real)
            if p != real and not p.startswith("/usr/") and p not in prefixes:
                prefixes.append(p)  # keep the path the interpreter is invoked by, too
        return prefixes

    def _limits(self, deadline_s: float):
        s = self.settings
        memory = s.memory_limit_bytes
        cpu = math.ceil(deadline_s) + 1
        # RLIMIT_NPROC counts every task of the sandbox's *host* uid (this server's threads
        # when unprivileged; other uid-10001 processes, e.g. Docker runners, when root), so
        # the sandbox gets pids_limit on top of what that uid already runs.
        host_uid = SANDBOX_UID if self.as_root else os.getuid()
        nproc = s.sandbox_pids_limit + _tasks_of(host_uid)
        limits = {
            resource.RLIMIT_AS: memory + ADDRESS_SPACE_HEADROOM,
            resource.RLIMIT_DATA: memory,
            resource.RLIMIT_NPROC: nproc,
            resource.RLIMIT_FSIZE: _bytes(s.sandbox_tmp_size),
            resource.RLIMIT_CPU: cpu,
            resource.RLIMIT_NOFILE: OPEN_FILES,
            resource.RLIMIT_CORE: 0,
        }

        def apply() -> None:  # runs in the child between fork and exec
            for which, value in limits.items():
                hard = value + 1 if which == resource.RLIMIT_CPU else value
                resource.setrlimit(which, (value, hard))

        return apply

    async def sweep(self) -> int:
        """Kill and remove the sandboxes this deployment's previous process left in its own
        cgroup parent (DEPLOYMENT_ID); another deployment's are not touched."""
        return await asyncio.to_thread(cgroups.sweep, self.settings.deployment_id)

    # --- health ------------------------------------------------------------------------

    async def check(self) -> None:
        await asyncio.to_thread(self._check_blocking)

    def _check_blocking(self) -> None:
        confined = self._confinement(f"probe-{os.getpid()}-{threading.get_ident()}")
        try:
            argv = self._argv(confined.open())
            self.weaker = confined.weaker
            # One real sandbox that does nothing: proves namespaces, binds, the seccomp
            # filter and the cgroup work here.
            probe = argv[: argv.index("--")] + ["--", "/bin/true"]
            if self.as_root:
                probe = argv[: argv.index("--")] + [
                    "--", "/usr/bin/setpriv", f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_GID}",
                    "--clear-groups", "/bin/true"]
            done = subprocess.run(probe, check=False, capture_output=True, text=True, timeout=30,
                                  pass_fds=[confined.seccomp_fd], preexec_fn=confined.preexec(
                                      lambda: None))
        finally:
            confined.close()
        if done.returncode != 0:
            raise ExecutorUnavailable(
                f"bubblewrap cannot create a sandbox here: {done.stderr.strip()[:300]}. "
                "It needs unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1"
                ", user.max_user_namespaces > 0) or to run as root."
            )
        runner = Path(self.settings.runner_dir)
        if not (runner / "__main__.py").is_file():
            raise ExecutorUnavailable(
                f"RUNNER_DIR={runner} is not the runner package (no __main__.py)."
            )


_NOT_INSTALLED = (
    "bubblewrap is not installed: `sudo apt-get install -y bubblewrap` "
    "(or use EXECUTION_MODE=docker)."
)


def _parents(path: str) -> list[str]:
    """--dir for each missing ancestor, world-traversable (bwrap would make them 0700)."""
    out: list[str] = []
    parts = Path(path).parts[1:-1]
    for i in range(len(parts)):
        out += ["--perms", "0755", "--dir", "/" + "/".join(parts[: i + 1])]
    return out


def _bytes(size: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    return int(size[:-1]) * units[size[-1]]


def _tasks_of(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if entry.stat().st_uid == uid:
                count += len(os.listdir(f"/proc/{entry.name}/task"))
    return count

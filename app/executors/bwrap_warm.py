"""Warm bubblewrap sandboxes for the pool: one `bwrap` process started ahead, its runner warmed inside.

It wraps the executor's own launch (BubblewrapExecutor._confinement, _argv and _limits:
the same namespaces, binds, environment, rlimits, seccomp filter, cgroup and private
/tmp as a cold run, the confinement held from start until discard) and adds only
CORRAL_RUNNER_WARM=1, so the runner imports DuckDB and pandas and opens its connection,
writes READY_MARK on stderr and blocks reading stdin. A run writes the request to that
stdin, reads stdout up to the cap until the deadline, then kills the whole process group
(the sandbox runs in its own session) in every outcome, like process.run_process does for
a cold run. Blocking code: the pool calls it from threads.

The CPU rlimit gets WARM_UP_CPU_S more than a cold run's for the imports done before the
request; the runner narrows its own limit to the run's deadline once the request arrives
(runner/limits.py), and the executor's wall-clock kill stays the last word.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import threading
import time
import uuid
from typing import Any

from app.executors.bwrap import BubblewrapExecutor
from app.executors.confinement import Confinement
from app.executors.outcome import STDERR_TAIL, Ending, output_cap, result_from
from runner import contract
from runner.contract import READY_MARK, WARM_ENV

WARM_UP_TIMEOUT_S = 60
WARM_UP_CPU_S = 10
CHUNK = 64 * 1024


class BwrapWarmSandboxes:
    """The pool's bubblewrap backend (app/executors/pool.py WarmBackend)."""

    def __init__(self, executor: BubblewrapExecutor) -> None:
        self.executor = executor
        self.settings = executor.settings
        self.warm_up_cpus = self.settings.sandbox_cpu_limit  # its cgroup, from the start
        # pid -> the confinement of a live warm sandbox; discard() takes it out, so it
        # holds at most the sandboxes alive now (tests assert it ends empty).
        self.confined: dict[int, Confinement] = {}
        self._lock = threading.Lock()

    def sandbox_id(self, sandbox: subprocess.Popen) -> str:
        return f"bwrap-{sandbox.pid}"

    def start(self) -> subprocess.Popen:
        s = self.settings
        confined = self.executor._confinement(f"warm-{uuid.uuid4().hex}").open()
        try:
            argv = self.executor._argv(confined)
            cut = argv.index("--")
            argv = argv[:cut] + ["--setenv", WARM_ENV, "1"] + argv[cut:]
            deadline_s = (s.run_timeout_ms + s.sandbox_grace_ms) / 1000
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, cwd="/",
                start_new_session=True,  # its own process group: one killpg stops it all
                preexec_fn=confined.preexec(  # noqa: PLW1509
                    self.executor._limits(deadline_s + WARM_UP_CPU_S)),
                pass_fds=[confined.seccomp_fd],
            )
        except BaseException:
            confined.close()
            raise
        with self._lock:
            self.confined[proc.pid] = confined
        try:
            _wait_ready(proc)
        except BaseException:
            self.discard(proc)
            raise
        return proc

    def alive(self, sandbox: subprocess.Popen) -> bool:
        return sandbox.poll() is None

    def run(self, sandbox: subprocess.Popen, request: dict[str, Any]) -> dict[str, Any] | None:
        started = time.monotonic()
        try:
            if not self.alive(sandbox):
                return None
            deadline = started + (request["timeout_ms"] + self.settings.sandbox_grace_ms) / 1000
            end = _converse(sandbox, json.dumps(request).encode(), deadline, output_cap(request))
        except OSError as exc:
            elapsed = int((time.monotonic() - started) * 1000)
            return contract.failed_result(request["run_id"], "crashed", None,
                                          f"The sandbox failed while running: {exc}", elapsed)
        finally:
            confined = self.confined.get(sandbox.pid)
            oom = confined is not None and confined.oom_killed()  # before its cgroup goes
            self.discard(sandbox)  # in every outcome: nothing of the sandbox outlives the run
        end.oom_killed = end.oom_killed or oom
        end.exit_code = sandbox.returncode
        end.elapsed_ms = int((time.monotonic() - started) * 1000)
        return result_from(request, end)

    def discard(self, sandbox: subprocess.Popen) -> None:
        if sandbox.poll() is None:  # once reaped, its pid may be another process group's
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(sandbox.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            sandbox.wait(timeout=10)
        for pipe in (sandbox.stdin, sandbox.stdout, sandbox.stderr):
            with contextlib.suppress(OSError):
                pipe.close()
        with self._lock:
            confined = self.confined.pop(sandbox.pid, None)
        if confined is not None:
            confined.close()


def _wait_ready(proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + WARM_UP_TIMEOUT_S
    err = bytearray()
    fd = proc.stderr.fileno()
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while READY_MARK not in err:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"the runner did not warm up within {WARM_UP_TIMEOUT_S} s")
            if not sel.select(remaining):
                continue
            chunk = os.read(fd, CHUNK)
            if not chunk:
                raise RuntimeError(f"the runner exited while warming up: {bytes(err[-300:])!r}")
            err.extend(chunk)


def _converse(proc: subprocess.Popen, request: bytes, deadline: float, cap: int) -> Ending:
    """Write the request, read stdout (capped) and the tail of stderr until EOF or deadline."""
    end = Ending(stdout=b"")
    out, err = bytearray(), bytearray()
    pending = memoryview(request)
    with selectors.DefaultSelector() as sel:
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin.fileno(), selectors.EVENT_WRITE, "in")
        sel.register(proc.stdout.fileno(), selectors.EVENT_READ, "out")
        sel.register(proc.stderr.fileno(), selectors.EVENT_READ, "err")
        while len(sel.get_map()) > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                end.timed_out = True
                break
            for key, _ in sel.select(remaining):
                if key.data == "in":
                    pending = _feed(proc, pending, sel)
                    continue
                chunk = os.read(key.fd, CHUNK)
                if not chunk:
                    sel.unregister(key.fd)
                elif key.data == "out":
                    out.extend(chunk)
                else:
                    err.extend(chunk)
                    del err[:-STDERR_TAIL]
            if len(out) > cap:
                end.output_exceeded = True
                break
        if not (end.timed_out or end.output_exceeded):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(deadline - time.monotonic(), 0.001))
            end.timed_out = proc.returncode is None
    end.stdout, end.stderr_tail = bytes(out[:cap]), bytes(err)
    return end


def _feed(proc: subprocess.Popen, pending: memoryview, sel: selectors.BaseSelector) -> memoryview:
    """Write what the pipe takes now; close stdin (EOF for the runner) once all is sent."""
    try:
        pending = pending[os.write(proc.stdin.fileno(), pending):]
    except (BrokenPipeError, ConnectionResetError):
        pending = pending[len(pending):]
    except BlockingIOError:
        return pending
    if not pending:
        sel.unregister(proc.stdin.fileno())
        with contextlib.suppress(OSError):
            proc.stdin.close()
    return pending

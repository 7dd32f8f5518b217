"""The runner's own limits: the deadline (three layers) and captured prints.

Deadline layers, from gentle to blunt:
1. SIGALRM at the deadline raises RunTimeout in the main thread (pure Python code);
   a watchdog thread interrupts DuckDB at the same moment (queries run in C).
2. If the run still has not ended GRACE_S later (C code holding the GIL, user code
   catching everything), the watchdog writes the timeout result itself and exits.
3. RLIMIT_CPU a little past that: the kernel ends the process with SIGXCPU even
   when no Python code can run. The executor's own wall-clock kill is the last word.
"""

from __future__ import annotations

import io
import math
import os
import resource
import signal
import threading
from collections.abc import Callable
from typing import Self

from runner.errors import RunTimeout

GRACE_S = 1.0
CAPTURE_LIMIT = 64 * 1024  # characters of print output kept for the result


class Deadline:
    def __init__(self, seconds: float, interrupt: Callable[[], None],
                 give_up: Callable[[], None]):
        self._seconds = seconds
        self._interrupt = interrupt  # stop running queries
        self._give_up = give_up  # write the timeout result and exit the process
        self._ended = threading.Event()
        self.expired = False  # any failure after this is reported as the timeout it is

    def __enter__(self) -> Self:
        signal.signal(signal.SIGALRM, self._alarm)
        signal.setitimer(signal.ITIMER_REAL, self._seconds)
        _limit_cpu_seconds(self._seconds + GRACE_S + 1)
        threading.Thread(target=self._watch, name="deadline", daemon=True).start()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        self._ended.set()
        if exc is not None and self.expired and not isinstance(exc, RunTimeout):
            # e.g. DuckDB's "Query interrupted", or user code that turned the
            # timeout into another exception
            raise RunTimeout() from None

    def _alarm(self, signum: int, frame: object) -> None:
        self.expired = True
        raise RunTimeout()

    def _watch(self) -> None:
        if self._ended.wait(self._seconds):
            return
        self.expired = True
        try:
            self._interrupt()
        finally:
            if not self._ended.wait(GRACE_S):
                self._give_up()


def _limit_cpu_seconds(more: float) -> None:
    """Allow `more` CPU seconds beyond what this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + more)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
        new_hard = hard
    else:
        new_hard = soft + 1  # SIGXCPU at soft, SIGKILL a second later if it is ignored
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, new_hard))
    except (ValueError, OSError):
        pass  # a stricter limit set by the sandbox stays in force


class CapturedOutput(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr: keeps the first CAPTURE_LIMIT characters.

    The real stdout carries the result JSON and nothing else.
    """

    def __init__(self, limit: int = CAPTURE_LIMIT):
        super().__init__()
        self._parts: list[str] = []
        self._kept = 0
        self._dropped = 0
        self._limit = limit

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        room = self._limit - self._kept
        if room > 0:
            self._parts.append(text[:room])
            self._kept += min(room, len(text))
        self._dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def text(self) -> str:
        out = "".join(self._parts)
        if self._dropped:
            out += f"\n[... {self._dropped} more characters of output not kept]"
        return out


def take_stdout() -> int:
    """Keep the real stdout for the result only; fd 1 then points at /dev/null.

    So nothing else can reach the result stream by accident: not prints (they are
    captured), not C libraries, not child processes that inherit fd 1.
    """
    result_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    return result_fd

"""Per-user limits beside the global MAX_SANDBOXES (app/capacity.py): runs started per
minute (USER_RUNS_PER_MINUTE) and sandboxes running at once (USER_MAX_SANDBOXES).

Past either the API answers 429 with Retry-After and the variable's name, so one busy user
(or one leaked token) cannot take every sandbox from the others. Counters live in this
process: one agent-server replica enforces its own share, as MAX_SANDBOXES does.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from app.metrics import Metrics

WINDOW_S = 60.0


class UserLimitExceeded(Exception):
    """Raised with the limit's variable name, the wait and a sentence for the user."""

    def __init__(self, limit: str, retry_after_s: int, message: str) -> None:
        self.limit = limit
        self.retry_after_s = retry_after_s
        super().__init__(message)


class UserLimits:
    """Sliding one-minute window of run starts and a count of running sandboxes, per user id.

    Single event loop, so plain dicts are race-free (as in app/capacity.py)."""

    def __init__(self, runs_per_minute: int, max_sandboxes: int, run_timeout_ms: int,
                 metrics: Metrics, clock: Callable[[], float] = time.monotonic) -> None:
        self.runs_per_minute = runs_per_minute
        self.max_sandboxes = max_sandboxes
        self.metrics = metrics
        self.clock = clock
        self.starts: dict[str, deque[float]] = {}
        self.running: dict[str, int] = {}
        # The longest a sandbox slot stays taken is one run's deadline.
        self.sandbox_retry_s = max(1, math.ceil(run_timeout_ms / 1000))

    @contextmanager
    def run(self, user_id: str) -> Iterator[None]:
        """Hold one of the user's sandbox slots for a run, counted against the minute."""
        self._check_sandboxes(user_id)
        self._count_start(user_id)
        self.running[user_id] = self.running.get(user_id, 0) + 1
        try:
            yield
        finally:
            left = self.running[user_id] - 1
            if left:
                self.running[user_id] = left
            else:
                del self.running[user_id]

    def _check_sandboxes(self, user_id: str) -> None:
        if self.running.get(user_id, 0) >= self.max_sandboxes:
            self._refuse("USER_MAX_SANDBOXES", self.sandbox_retry_s,
                         f"You already have {self.max_sandboxes} runs in progress "
                         f"(USER_MAX_SANDBOXES={self.max_sandboxes}); wait for one to finish.")

    def _count_start(self, user_id: str) -> None:
        now = self.clock()
        starts = self.starts.setdefault(user_id, deque())
        while starts and starts[0] <= now - WINDOW_S:
            starts.popleft()
        if len(starts) >= self.runs_per_minute:
            wait = max(1, math.ceil(starts[0] + WINDOW_S - now))
            self._refuse("USER_RUNS_PER_MINUTE", wait,
                         f"You started {self.runs_per_minute} runs in the last minute "
                         f"(USER_RUNS_PER_MINUTE={self.runs_per_minute}); retry in {wait} s.")
        starts.append(now)
        self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        """Drop users whose last start left the window, so memory follows active users."""
        if len(self.starts) < 1024:
            return
        for user_id in [u for u, s in self.starts.items() if not s or s[-1] <= now - WINDOW_S]:
            del self.starts[user_id]

    def _refuse(self, limit: str, retry_after_s: int, message: str) -> None:
        self.metrics.user_limit_rejections.labels(limit=limit).inc()
        raise UserLimitExceeded(limit, retry_after_s, message)

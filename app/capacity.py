"""The MAX_SANDBOXES cap: a request either gets a slot now or is told to come back.

There is deliberately no waiting queue: past the cap the API answers 429 with
Retry-After, so load never piles up inside the server.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from app.metrics import Metrics


class CapacityExceeded(Exception):
    def __init__(self, limit: int, retry_after_s: int) -> None:
        self.limit = limit
        self.retry_after_s = retry_after_s
        super().__init__(f"All {limit} sandboxes are busy; retry in a few seconds.")


class Capacity:
    """Counts runs in flight. Single event loop, so a plain integer is race-free."""

    def __init__(self, limit: int, run_timeout_ms: int, metrics: Metrics) -> None:
        self.limit = limit
        self.in_flight = 0
        self.metrics = metrics
        # The longest a slot can stay taken is one run's deadline.
        self.retry_after_s = max(1, math.ceil(run_timeout_ms / 1000))

    @contextmanager
    def slot(self) -> Iterator[None]:
        if self.in_flight >= self.limit:
            self.metrics.capacity_rejections.inc()
            raise CapacityExceeded(self.limit, self.retry_after_s)
        self.in_flight += 1
        self.metrics.active_sandboxes.inc()
        try:
            yield
        finally:
            self.in_flight -= 1
            self.metrics.active_sandboxes.dec()

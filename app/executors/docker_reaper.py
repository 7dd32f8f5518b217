"""Removing sandbox containers that have already exited, after their answer is returned.

A container whose attach stream has ended has exited: its processes are gone and it
holds no CPU or memory, only its record in the engine. Removing that record is one
more daemon round trip (~15 ms on a quiet machine, far more under load) that nobody
needs to wait for, so the answer goes back first and one background thread removes
the container. A container that may still be running (a timeout, an output flood, a
failure mid-run) is never handed here: it is force-removed before its answer returns.
If the server dies before the thread gets to one, the next start-up sweep removes it.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable

# How long close() waits for the removals still queued (each is one API call).
CLOSE_WAIT_S = 30.0


class Reaper:
    def __init__(self, remove: Callable[[str], None]) -> None:
        self._remove = remove  # never raises (DockerExecutor.remove logs instead)
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: set[concurrent.futures.Future] = set()
        self._lock = threading.Lock()

    def submit(self, cid: str) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="sandbox-reaper")
            future = self._pool.submit(self._remove, cid)
            self._pending.add(future)
        future.add_done_callback(self._forget)

    def drain(self, timeout_s: float = CLOSE_WAIT_S) -> None:
        """Return once every container handed over so far is removed (or timeout_s passed)."""
        with self._lock:
            pending = set(self._pending)
        concurrent.futures.wait(pending, timeout=timeout_s)

    def close(self) -> None:
        self.drain()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    def _forget(self, future: concurrent.futures.Future) -> None:
        with self._lock:
            self._pending.discard(future)

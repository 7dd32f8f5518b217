"""PooledExecutor: each query still gets its own brand-new sandbox, but one started and warmed ahead.

A warm sandbox is a fresh sandbox (same flags and limits as a cold one) whose runner has
already imported DuckDB and pandas and opened its locked connection, and now blocks
reading its one request. A query takes one, sends the request, reads the result, and the
sandbox is destroyed in every outcome: it never returns to the pool, so no state passes
from one query to the next. When the pool is empty (or a taken sandbox turned out to have
vanished) the cold executor serves. The backend-specific part (start, talk, destroy) lives
in docker_warm.py and bwrap_warm.py; this module is the policy.

Refill policy, for a small machine under back-to-back load (README "Performance"):

* Refills are few and steady: at most `parallel` sandboxes warm at once, chosen so
  that warming never takes more than half the machine (each warming sandbox is held
  to its backend's warm_up_cpus: bwrap SANDBOX_CPU_LIMIT, two at once on 2 cores at
  0.5; docker one whole CPU, one at a time). Warming costs ~0.25 s of CPU
  (imports); more at once would only compete with the queries being served. Each
  refill slot is one long-lived thread (bwrap's --die-with-parent follows the thread
  that started the sandbox).
* Warm sandboxes **count against MAX_SANDBOXES**: a refill starts only while
  queries in flight + warm + warming < MAX_SANDBOXES.
* Refills **yield to load**: none starts while half of MAX_SANDBOXES or more are busy
  with queries. A warm sandbox costs more CPU than a cold SQL run (it imports pandas,
  which SQL never needs), so under back-to-back load refilling would lower throughput;
  then the cold path serves, and the pool refills as soon as the load eases. At a
  steady 1-2 requests/s, at most one query is usually in flight and every refill runs.
* Refills **wait for the query in flight** while a warm sandbox is still ready: the
  next query is served either way, and a container starting beside the query (~0.25 s
  of CPU, plus the engine's own work) competes with it on a 2-core machine. With none
  ready, the refill starts at once.
* A warm sandbox older than WARM_POOL_MAX_IDLE_S is destroyed and replaced (its image
  or datasets may have changed); one that died while waiting (an outside sweep removed
  it) is dropped when next looked at.
* A sandbox that fails to warm up backs the refill off (doubling, up to a minute), so
  a broken image or daemon does not turn into a busy loop.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from app.executors.base import Executor
from app.metrics import Metrics
from app.settings import Settings

log = logging.getLogger(__name__)

BACKOFF_MIN_S = 1.0
BACKOFF_MAX_S = 60.0
TICK_S = 1.0  # how often the refill thread looks for expired or vanished sandboxes
SERVED_KEPT = 256  # run id -> sandbox id, for logs and the freshness tests


class WarmBackend(Protocol):
    """What a backend provides to the pool. All blocking; called from threads."""

    def start(self) -> Any:
        """Start one sandbox and return once its runner is ready; raise on failure."""

    # The CPU one sandbox may use while it warms (docker: more than SANDBOX_CPU_LIMIT,
    # docker_warm.py); refill_parallelism counts with it.
    warm_up_cpus: float

    def sandbox_id(self, sandbox: Any) -> str: ...

    def alive(self, sandbox: Any) -> bool:
        """Cheap: is the sandbox still there and waiting (no I/O beyond a poll)?"""

    def run(self, sandbox: Any, request: dict[str, Any]) -> dict[str, Any] | None:
        """Send the request, return the result, destroy the sandbox (in every outcome).
        None: the sandbox had vanished before it could answer; nothing ran to completion."""

    def discard(self, sandbox: Any) -> None:
        """Destroy a sandbox that never got a request."""


@dataclass
class _Warm:
    sandbox: Any
    born: float  # time.monotonic() when it became ready


class WarmPool:
    """The warm sandboxes, the refill thread, and the counts the policy reads."""

    def __init__(self, backend: WarmBackend, settings: Settings, metrics: Metrics | None) -> None:
        self.backend = backend
        self.size = settings.warm_pool_size
        self.max_idle_s = settings.warm_pool_max_idle_s
        self.max_sandboxes = settings.max_sandboxes
        self.parallel = refill_parallelism(settings, backend.warm_up_cpus)
        self.metrics = metrics
        self._ready: collections.deque[_Warm] = collections.deque()
        self._warming = 0
        self._busy = 0  # queries in flight through this executor (hit or miss)
        self._cond = threading.Condition()
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._backoff_s = 0.0

    # --- what queries call ---------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            if self._threads or self._closed:
                return
            for i in range(self.parallel):
                thread = threading.Thread(target=self._refill_loop, name=f"warm-pool-{i}",
                                          daemon=True)
                self._threads.append(thread)
                thread.start()

    def take(self) -> _Warm | None:
        """The youngest live warm sandbox, or None (a miss). Marks one query busy either way."""
        dead: list[_Warm] = []
        with self._cond:
            self._busy += 1
            found = None
            while self._ready:
                warm = self._ready.pop()  # youngest first: the oldest expire on their own
                if self.backend.alive(warm.sandbox):
                    found = warm
                    break
                dead.append(warm)
            self._cond.notify_all()  # a slot of the pool was used: refill may start
        self._drop(dead, "vanished")
        self._count("hits" if found else "misses")
        self._gauge()
        return found

    def done(self) -> None:
        with self._cond:
            self._busy -= 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            left, self._ready = list(self._ready), collections.deque()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=30)
        self._drop(left, None)
        self._gauge()

    def counts(self) -> dict[str, int]:
        with self._cond:
            return {"ready": len(self._ready), "warming": self._warming, "busy": self._busy}

    # --- the refill thread -----------------------------------------------------------------

    def _refill_loop(self) -> None:
        while True:
            with self._cond:
                expired, vanished = self._stale_locked()
                stale = expired or vanished
                start = not stale and self._should_refill_locked()
                if start:
                    self._warming += 1
                elif not stale and not self._closed:
                    self._cond.wait(TICK_S)
                closed = self._closed
            self._drop(expired, "expired")
            self._drop(vanished, "vanished")
            if closed:
                return
            if start:
                self._refill_one()

    def _should_refill_locked(self) -> bool:
        if self._closed or len(self._ready) + self._warming >= self.size:
            return False
        if self._busy >= max(1, self.max_sandboxes // 2):
            return False  # loaded: leave the CPU to the queries (see the module docstring)
        if self._busy and self._ready:
            return False  # the next query is served anyway: warm after this one, not beside it
        return self._busy + len(self._ready) + self._warming < self.max_sandboxes

    def _stale_locked(self) -> tuple[list[_Warm], list[_Warm]]:
        """Take out the warm sandboxes past their lifetime, and those that died waiting."""
        now = time.monotonic()
        keep: collections.deque[_Warm] = collections.deque()
        expired, vanished = [], []
        for warm in self._ready:
            if not self.backend.alive(warm.sandbox):
                vanished.append(warm)
            elif now - warm.born > self.max_idle_s:
                expired.append(warm)
            else:
                keep.append(warm)
        self._ready = keep
        return expired, vanished

    def _refill_one(self) -> None:
        began = time.monotonic()
        try:
            sandbox = self.backend.start()
        except Exception as exc:  # noqa: BLE001 - any failure: back off, the cold path serves
            self._backoff_s = min(max(self._backoff_s * 2, BACKOFF_MIN_S), BACKOFF_MAX_S)
            log.warning("warm pool: a sandbox failed to warm up (%s); next try in %.0f s",
                        exc, self._backoff_s)
            with self._cond:
                self._warming -= 1
                self._cond.wait(self._backoff_s)  # woken early only by close()
            return
        self._backoff_s = 0.0
        took = time.monotonic() - began
        if self.metrics is not None:
            self.metrics.warm_pool_refill.observe(took)
        with self._cond:
            self._warming -= 1
            if self._closed:
                late = [_Warm(sandbox, time.monotonic())]
            else:
                self._ready.append(_Warm(sandbox, time.monotonic()))
                late = []
        self._drop(late, None)
        self._gauge()

    # --- helpers ------------------------------------------------------------------------

    def _drop(self, warms: list[_Warm], reason: str | None) -> None:
        for warm in warms:
            try:
                self.backend.discard(warm.sandbox)
            except Exception as exc:  # noqa: BLE001 - the start-up sweep removes it later
                log.warning("warm pool: could not remove %s: %s",
                            self.backend.sandbox_id(warm.sandbox), exc)
            if reason and self.metrics is not None:
                self.metrics.warm_pool_discarded.labels(reason=reason).inc()

    def _count(self, what: str) -> None:
        if self.metrics is not None:
            (self.metrics.warm_pool_hits if what == "hits" else self.metrics.warm_pool_misses).inc()

    def _gauge(self) -> None:
        if self.metrics is not None:
            self.metrics.warm_pool_ready.set(self.counts()["ready"])


def refill_parallelism(settings: Settings, warm_up_cpus: float) -> int:
    """How many sandboxes may warm at once: together at most half of this machine's CPUs
    (each may use `warm_up_cpus` while it warms)."""
    cpus = os.cpu_count() or 1
    return max(1, min(settings.warm_pool_size, int(cpus / 2 / warm_up_cpus)))


class PooledExecutor(Executor):
    """A cold executor plus a pool of warm sandboxes of the same backend."""

    def __init__(self, cold: Executor, backend: WarmBackend, settings: Settings) -> None:
        self.cold = cold
        self.backend = backend
        self.settings = settings
        self.name = cold.name
        self.pool = WarmPool(backend, settings, None)
        self.served: collections.OrderedDict[str, str] = collections.OrderedDict()

    @property  # type: ignore[override]
    def weaker(self) -> str | None:
        """The cold executor's finding: warm sandboxes are confined the same way."""
        return self.cold.weaker

    def use_metrics(self, metrics: Metrics) -> None:
        self.pool.metrics = metrics

    async def run(self, request: dict[str, Any]) -> dict[str, Any]:
        if "tables" in request:
            # A run limited to the datasets its user may see (app/visibility.py) needs a
            # sandbox given only their files; a warm one was given all of them.
            return await self.cold.run(request)
        self.pool.start()
        warm = self.pool.take()
        try:
            if warm is not None:
                self._served(request["run_id"], self.backend.sandbox_id(warm.sandbox))
                result = await asyncio.to_thread(self.backend.run, warm.sandbox, request)
                if result is not None:
                    return result
                log.warning("run %s: the warm sandbox vanished before answering; running cold",
                            request["run_id"])
                if self.pool.metrics is not None:
                    self.pool.metrics.warm_pool_discarded.labels(reason="vanished").inc()
            return await self.cold.run(request)
        finally:
            self.pool.done()

    def _served(self, run_id: str, sandbox_id: str) -> None:
        self.served[run_id] = sandbox_id
        while len(self.served) > SERVED_KEPT:
            self.served.popitem(last=False)

    def drain(self) -> None:
        self.cold.drain()  # warm sandboxes are removed the cold backend's way

    async def check(self) -> None:
        await self.cold.check()

    async def sweep(self) -> int:
        removed = await self.cold.sweep()
        self.pool.start()  # after the sweep, so it never sees our own new sandboxes
        return removed

    async def close(self) -> None:
        await asyncio.to_thread(self.pool.close)
        await self.cold.close()

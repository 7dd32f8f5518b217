"""The warm pool's policy (app/executors/pool.py) against an in-memory backend: how many it
keeps, that it refills only into headroom under MAX_SANDBOXES, that it recycles and drops
what it must, and that a miss or a vanished sandbox is served cold. The real backends are
proven in test_warm_pool.py; this pins the rules, with no Docker and no timing.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import time

from sandbox_helpers import sandbox_settings

from app.executors.base import Executor
from app.executors.pool import PooledExecutor, WarmPool, refill_parallelism
from app.metrics import Metrics
from runner.contract import failed_result, make_request

WAIT_S = 30


class MemoryBackend:
    """Sandboxes are integers; `vanish` marks some as removed from outside."""

    warm_up_cpus = 0.5  # as SANDBOX_CPU_LIMIT's default

    def __init__(self) -> None:
        self.ids = itertools.count(1)
        self.live: set[int] = set()
        self.started = 0
        self.served: list[int] = []
        self.gate: threading.Semaphore | None = None  # when set, each start takes a permit

    def start(self) -> int:
        if self.gate is not None:
            self.gate.acquire()
        self.started += 1
        n = next(self.ids)
        self.live.add(n)
        return n

    def sandbox_id(self, sandbox: int) -> str:
        return f"mem-{sandbox}"

    def alive(self, sandbox: int) -> bool:
        return sandbox in self.live

    def run(self, sandbox: int, request: dict) -> dict | None:
        alive = sandbox in self.live
        self.live.discard(sandbox)
        if not alive:
            return None
        self.served.append(sandbox)
        return failed_result(request["run_id"], "crashed", None, f"served by {sandbox}", 0)

    def discard(self, sandbox: int) -> None:
        self.live.discard(sandbox)


class ColdExecutor(Executor):
    name = "memory"

    def __init__(self) -> None:
        self.runs = 0

    async def run(self, request: dict) -> dict:
        self.runs += 1
        return failed_result(request["run_id"], "crashed", None, "cold", 0)

    async def check(self) -> None:
        return None


def until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def pool_of(size: int, max_sandboxes: int = 4) -> tuple[WarmPool, MemoryBackend]:
    backend = MemoryBackend()
    settings = sandbox_settings("docker", warm_pool_size=size, max_sandboxes=max_sandboxes,
                                warm_pool_memory_budget="1g")
    return WarmPool(backend, settings, Metrics()), backend


def test_fills_to_its_size_and_no_further():
    pool, backend = pool_of(2)
    pool.start()
    try:
        until(lambda: pool.counts()["ready"] == 2, "the pool did not fill")
        time.sleep(0.2)
        assert backend.started == 2 and pool.counts()["warming"] == 0
    finally:
        pool.close()
    assert backend.live == set()  # close destroys every warm sandbox


def test_refills_only_into_headroom_below_max_sandboxes():
    pool, backend = pool_of(4, max_sandboxes=4)
    pool.start()
    try:
        until(lambda: pool.counts()["ready"] == 4, "the pool did not fill")
        assert pool.take() is not None  # one run in flight, three warm: the cap
        time.sleep(0.3)
        assert pool.counts() == {"ready": 3, "warming": 0, "busy": 1} and backend.started == 4
        pool.done()
        until(lambda: pool.counts()["ready"] == 4, "no refill after the run ended")
    finally:
        pool.close()


def test_refills_wait_while_half_the_sandboxes_are_busy():
    pool, backend = pool_of(2, max_sandboxes=4)
    pool.start()
    try:
        until(lambda: pool.counts()["ready"] == 2, "the pool did not fill")
        assert pool.take() is not None and pool.take() is not None  # back-to-back load
        time.sleep(0.3)
        # busy 2 of 4: refilling would take CPU from the runs; the cold path serves.
        assert pool.counts() == {"ready": 0, "warming": 0, "busy": 2} and backend.started == 2
        pool.done()
        until(lambda: pool.counts()["ready"] == 1, "no refill once the load eased")
        pool.done()
        until(lambda: pool.counts()["ready"] == 2, "the pool did not fill up again")
    finally:
        pool.close()


def test_a_refill_waits_for_the_query_in_flight_while_one_is_still_ready():
    pool, backend = pool_of(2, max_sandboxes=8)
    pool.start()
    try:
        until(lambda: pool.counts()["ready"] == 2, "the pool did not fill")
        assert pool.take() is not None  # one query in flight, one warm still ready
        time.sleep(0.3)
        # Starting the replacement now would compete with the query for the CPU.
        assert pool.counts() == {"ready": 1, "warming": 0, "busy": 1} and backend.started == 2
        pool.done()
        until(lambda: pool.counts()["ready"] == 2, "no refill after the query ended")
    finally:
        pool.close()


def test_an_empty_pool_refills_beside_the_query_in_flight():
    pool, backend = pool_of(1, max_sandboxes=8)
    pool.start()
    try:
        until(lambda: pool.counts()["ready"] == 1, "the pool did not fill")
        assert pool.take() is not None  # none left: the next query would miss
        until(lambda: pool.counts()["ready"] == 1, "no refill while the query ran")
        assert pool.counts()["busy"] == 1 and backend.started == 2
        pool.done()
    finally:
        pool.close()


def test_warming_takes_at_most_half_the_machine():
    assert refill_parallelism(sandbox_settings("docker"), warm_up_cpus=64) == 1
    half = max(1, int((os.cpu_count() or 1) / 2 / 0.5))
    assert refill_parallelism(sandbox_settings("docker", warm_pool_size=2), 0.5) == min(2, half)
    # A backend that lets a sandbox use a whole CPU while warming warms fewer at once.
    four = sandbox_settings("docker", warm_pool_size=4, warm_pool_memory_budget="1g")
    assert refill_parallelism(four, 1.0) == max(1, min(4, int((os.cpu_count() or 1) / 2)))
    pool, backend = pool_of(4, max_sandboxes=8)
    backend.gate = threading.Semaphore(0)  # every start blocks until released
    pool.start()
    try:
        time.sleep(0.2)
        assert pool.counts()["warming"] == pool.parallel == min(4, half)
        for _ in range(4):
            backend.gate.release()
        until(lambda: pool.counts()["ready"] == 4, "the pool did not fill")
    finally:
        for _ in range(8):
            backend.gate.release()
        pool.close()


def test_expired_and_vanished_sandboxes_are_replaced():
    pool, backend = pool_of(2)
    pool.start()
    try:
        until(lambda: pool.counts()["ready"] == 2, "the pool did not fill")
        def ready() -> set[int]:
            return {w.sandbox for w in list(pool._ready)}

        first = ready()
        backend.live.clear()  # removed from outside (another server's sweep)
        until(lambda: len(ready()) == 2 and not first & ready(),
              "vanished sandboxes were not replaced")
        second = ready()
        pool.max_idle_s = 0  # everything is now past its lifetime
        until(lambda: not second & ready() and not second & backend.live,
              "expired sandboxes were not recycled")
    finally:
        pool.close()
    metrics = pool.metrics
    assert metrics.warm_pool_discarded.labels(reason="vanished")._value.get() >= 2
    assert metrics.warm_pool_discarded.labels(reason="expired")._value.get() >= 2


def test_a_failing_start_backs_off_and_the_cold_path_serves():
    backend = MemoryBackend()

    def broken() -> int:
        raise RuntimeError("no such image")

    backend.start = broken
    cold = ColdExecutor()
    settings = sandbox_settings("docker", warm_pool_size=2)
    executor = PooledExecutor(cold, backend, settings)
    executor.use_metrics(Metrics())
    try:
        result = asyncio.run(executor.run(make_request("r1", "sql", "SELECT 1", 10, 1000)))
        assert result["error"]["message"] == "cold" and cold.runs == 1
        time.sleep(0.3)
        assert executor.pool.counts()["warming"] <= 1  # backing off, not spinning
    finally:
        asyncio.run(executor.close())


def test_a_taken_sandbox_that_vanished_is_answered_cold():
    backend = MemoryBackend()
    cold = ColdExecutor()
    executor = PooledExecutor(cold, backend, sandbox_settings("docker", warm_pool_size=1))
    executor.use_metrics(Metrics())
    try:
        executor.pool.start()
        until(lambda: executor.pool.counts()["ready"] == 1, "the pool did not fill")
        backend.alive = lambda sandbox: True  # it looked alive when taken...
        backend.live.clear()  # ...but was removed before the request reached it
        result = asyncio.run(executor.run(make_request("r2", "sql", "SELECT 1", 10, 1000)))
        assert result["error"]["message"] == "cold" and cold.runs == 1
        hits = executor.pool.metrics.warm_pool_hits._value.get()
        assert hits == 1 and executor.served["r2"].startswith("mem-")
    finally:
        asyncio.run(executor.close())


def test_hits_and_misses_are_counted():
    backend = MemoryBackend()
    cold = ColdExecutor()
    executor = PooledExecutor(cold, backend, sandbox_settings("docker", warm_pool_size=1))
    metrics = Metrics()
    executor.use_metrics(metrics)
    try:
        executor.pool.start()
        until(lambda: executor.pool.counts()["ready"] == 1, "the pool did not fill")
        backend.gate = threading.Semaphore(0)  # no refill from here on

        async def two() -> list[dict]:
            return [await executor.run(make_request(f"r{i}", "sql", "SELECT 1", 10, 1000))
                    for i in range(2)]

        first, second = asyncio.run(two())
        assert first["error"]["message"].startswith("served by") and second["error"]["message"] == "cold"
        assert metrics.warm_pool_hits._value.get() == 1
        assert metrics.warm_pool_misses._value.get() == 1
    finally:
        for _ in range(4):  # one per refill thread that may be waiting on it
            backend.gate.release()
        asyncio.run(executor.close())

"""Prometheus metrics of one agent-server instance.

Each app gets its own CollectorRegistry so tests can build several apps in one
process without "duplicated timeseries" errors.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.runs = Counter(
            "corral_runs_total",
            "Sandbox runs by final status and language (rejected = refused by the guard).",
            ["status", "language"],
            registry=self.registry,
        )
        self.run_duration = Histogram(
            "corral_run_duration_seconds",
            "Wall-clock time of one sandbox run, as seen by the agent server.",
            buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.active_sandboxes = Gauge(
            "corral_active_sandboxes",
            "Sandboxes running right now.",
            registry=self.registry,
        )
        self.capacity_rejections = Counter(
            "corral_capacity_rejections_total",
            "Requests answered 429 because MAX_SANDBOXES sandboxes were busy.",
            registry=self.registry,
        )
        self.user_limit_rejections = Counter(
            "corral_user_limit_rejections_total",
            "Requests answered 429 by a per-user limit (app/user_limits.py), by its variable.",
            ["limit"],
            registry=self.registry,
        )
        self.plans = Counter(
            "corral_plans_total",
            "Planner outcomes: planned, cannot_plan, retried, failed.",
            ["planner", "outcome"],
            registry=self.registry,
        )

        self._warm_pool()

    def _warm_pool(self) -> None:
        """The warm pool (app/executors/pool.py): how often it served, and what refills cost."""
        self.warm_pool_hits = Counter(
            "corral_warm_pool_hits_total",
            "Runs served by a sandbox started and warmed ahead of time.",
            registry=self.registry,
        )
        self.warm_pool_misses = Counter(
            "corral_warm_pool_misses_total",
            "Runs that found the warm pool empty and started a cold sandbox.",
            registry=self.registry,
        )
        self.warm_pool_ready = Gauge(
            "corral_warm_pool_ready",
            "Warm sandboxes waiting for a run right now.",
            registry=self.registry,
        )
        self.warm_pool_refill = Histogram(
            "corral_warm_pool_refill_seconds",
            "Time to start one sandbox and warm its runner (imports, datasets) until ready.",
            buckets=(0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30),
            registry=self.registry,
        )
        self.warm_pool_discarded = Counter(
            "corral_warm_pool_discarded_total",
            "Warm sandboxes destroyed without serving a run: expired (older than "
            "WARM_POOL_MAX_IDLE_S) or vanished (removed from outside).",
            ["reason"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

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
        self.plans = Counter(
            "corral_plans_total",
            "Planner outcomes: planned, cannot_plan, retried, failed.",
            ["planner", "outcome"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

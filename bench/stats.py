"""The one summary every benchmark prints for a list of timings."""

from __future__ import annotations

import math
import statistics


def summary(samples_ms: list[float]) -> dict[str, float]:
    """n, p50, p95 (nearest rank), mean, min and max, in milliseconds."""
    ordered = sorted(samples_ms)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(p95, 1),
        "mean_ms": round(statistics.fmean(ordered), 1),
        "min_ms": round(ordered[0], 1),
        "max_ms": round(ordered[-1], 1),
    }

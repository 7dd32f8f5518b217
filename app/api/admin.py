"""Operator endpoints: the Prometheus metrics (hidden from the public by the reverse
proxy, see the corral_proxy role)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import MetricsDep
from app.metrics import CONTENT_TYPE_LATEST

router = APIRouter(tags=["admin"])

_PROMETHEUS_TEXT = {
    200: {
        "description": "Prometheus text exposition format (not JSON).",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


@router.get("/metrics", response_class=Response, responses=_PROMETHEUS_TEXT)
async def metrics(metrics: MetricsDep) -> Response:
    """Run counts, run durations, busy sandboxes, capacity refusals and planner outcomes."""
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

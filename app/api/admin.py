"""Operator endpoints: the Prometheus metrics (public as before, hidden from the public
by the reverse proxy, see the corral_proxy role) and the run audit (admins)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import AfterValidator, BeforeValidator

from app.api.conversations import OFFSET_MAX, PAGE_DEFAULT, PAGE_MAX, page_headers
from app.api.deps import AdminUser, MetricsDep, StoreDep
from app.api.responses import errors
from app.audit import AuditFilter, page
from app.metrics import CONTENT_TYPE_LATEST
from app.models import AuditRow
from runner import contract

router = APIRouter(tags=["admin"])

_PROMETHEUS_TEXT = {
    200: {
        "description": "Prometheus text exposition format (not JSON).",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}
_PAGE_HEADERS = {
    "X-Total-Count": {"description": "How many runs match in all.",
                      "schema": {"type": "integer", "minimum": 0}},
    "Link": {"description": 'RFC 8288 `<...>; rel="next"` to the next page, when there is one.',
             "schema": {"type": "string"}},
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]|$)")
# The statuses of runner/schema.json, the one place they are declared.
STATUSES: list[str] = contract.schema()["$defs"]["result"]["properties"]["status"]["enum"]


@router.get("/metrics", response_class=Response, responses=_PROMETHEUS_TEXT)
async def metrics(metrics: MetricsDep) -> Response:
    """Run counts, run durations, busy sandboxes, capacity refusals and planner outcomes."""
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)


def _iso_only(value: object) -> object:
    # pydantic would also take a number of seconds; the API documents ISO 8601 only.
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("expected an ISO 8601 date-time such as 2026-11-30T10:00:00Z")
    return value


def _utc_representable(value: dt.datetime | None) -> dt.datetime | None:
    # 9999-12-31T23:59:59-14:00 is past year 9999 in UTC: a 422, not an OverflowError.
    if value is not None and value.tzinfo is not None:
        try:
            value.astimezone(dt.UTC)
        except OverflowError:
            raise ValueError("outside the date-times UTC can hold (years 1 to 9999)") from None
    return value


@router.get("/api/admin/audit", response_model=list[AuditRow],
            responses={200: {"headers": _PAGE_HEADERS}, **errors(401, 403, 422, 503)})
async def audit(
    request: Request, response: Response, _: AdminUser, storage: StoreDep,
    user: Annotated[str | None, Query(max_length=64, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._@-]*$",
                                      description="Only this user's runs.")] = None,
    status: Annotated[str | None, Query(pattern="^(" + "|".join(STATUSES) + ")$",
                                        description="Only runs with this status.")] = None,
    since: Annotated[dt.datetime | None, BeforeValidator(_iso_only),
                     AfterValidator(_utc_representable),
                     Query(description="From this time (ISO 8601).")] = None,
    until: Annotated[dt.datetime | None, BeforeValidator(_iso_only),
                     AfterValidator(_utc_representable),
                     Query(description="Before this time (ISO 8601).")] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX, description="Page size.")] = PAGE_DEFAULT,
    offset: Annotated[int, Query(ge=0, le=OFFSET_MAX, description="Runs to skip.")] = 0,
) -> list[dict[str, Any]]:
    """Every run with who asked, newest first; filtered, one page at a time."""
    f = AuditFilter(user, status, _utc(since), _utc(until))
    rows, total = await asyncio.to_thread(page, storage.engine, f, limit, offset)
    page_headers(request, response, limit, offset, len(rows), total)
    return rows


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    # A time without a zone is UTC, as everything stored is.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC) if value is not None else None

"""The run audit for admins: every run with who asked, filtered by user, status and time,
newest first, one page at a time. Runs from before identity (user NULL) are here too."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.auth.users import users
from app.storage import _iso, runs


@dataclass(frozen=True)
class AuditFilter:
    username: str | None = None
    status: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _where(f: AuditFilter) -> list[sa.ColumnElement[bool]]:
    conds: list[sa.ColumnElement[bool]] = []
    if f.username is not None:
        conds.append(sa.func.lower(users.c.username) == f.username.lower())
    if f.status is not None:
        conds.append(runs.c.status == f.status)
    if f.since is not None:
        conds.append(runs.c.created_at >= f.since)
    if f.until is not None:
        conds.append(runs.c.created_at < f.until)
    return conds


def _joined(*columns: Any) -> sa.Select[Any]:
    return sa.select(*columns).select_from(
        runs.outerjoin(users, users.c.id == runs.c.user_id))


def page(engine: Engine, f: AuditFilter, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """(one page of rows, newest first; how many match in all)."""
    cols = [runs.c.run_id, runs.c.created_at, users.c.username, runs.c.question,
            runs.c.language, runs.c.code, runs.c.status, runs.c.error_type,
            runs.c.duration_ms, runs.c.row_count, runs.c.executor]
    q = _joined(*cols).where(*_where(f)).order_by(runs.c.id.desc()).limit(limit).offset(offset)
    count = _joined(sa.func.count()).where(*_where(f))
    with engine.connect() as conn:
        rows = [{**r._mapping, "created_at": _iso(r.created_at)} for r in conn.execute(q)]
        total = int(conn.execute(count).scalar_one())
    return rows, total

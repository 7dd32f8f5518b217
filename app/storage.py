"""Conversations, messages and the run audit, in SQLite (default) or PostgreSQL.

SQLAlchemy Core with a synchronous engine; every public coroutine runs its work in
a worker thread so the event loop never waits on the database. The schema is
owned by the Alembic migrations in app/migrations/, applied at start-up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from app import schema_upgrade
from app.planners.base import reading_of, unread_of

metadata = sa.MetaData()

conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # Its owner (app/auth/users.py); NULL: made before identity, or with AUTH_MODE=none.
    sa.Column("user_id", sa.String(32), nullable=True, index=True),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "conversation_id",
        sa.String(32),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("plan", sa.JSON, nullable=True),
    sa.Column("result", sa.JSON, nullable=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("suggestions", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("user_id", sa.String(32), nullable=True),
    # The planner's question back with its choices (app/planners/base.py Clarify), and
    # the follow-up questions offered after an answer; NULL when there are none.
    sa.Column("clarify", sa.JSON, nullable=True),
    sa.Column("follow_ups", sa.JSON, nullable=True),
)

# The audit trail: one row per run, kept when its conversation is deleted.
runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False, unique=True),
    sa.Column("conversation_id", sa.String(32), nullable=True, index=True),
    sa.Column("message_id", sa.String(32), nullable=True),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("error_type", sa.String(64), nullable=True),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("row_count", sa.Integer, nullable=False),
    sa.Column("executor", sa.String(32), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    # Who asked, and what (kept when the conversation and its messages are deleted).
    sa.Column("user_id", sa.String(32), nullable=True, index=True),
    sa.Column("question", sa.Text, nullable=True),
)


class ConversationGone(LookupError):
    """The conversation an answer was for was deleted before the answer was stored."""


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def owned_by(column: sa.Column[Any], user_id: str | None) -> sa.ColumnElement[bool]:
    """Rows of this owner; None is the owner of rows made without identity."""
    return column.is_(None) if user_id is None else column == user_id


def stored_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A datetime read back from the database, with its zone: SQLite hands back naive
    datetimes, and everything stored is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _iso(value: dt.datetime) -> str:
    return stored_utc(value).isoformat()  # type: ignore[union-attr]


def sqlalchemy_url(database_url: str) -> str:
    """DATABASE_URL as SQLAlchemy wants it (psycopg 3 for postgresql://)."""
    if database_url.startswith("postgresql://"):
        return "postgresql+psycopg://" + database_url[len("postgresql://"):]
    return database_url


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (app/schema_upgrade.py: a failed
    SQLite migration is put back as it was)."""
    schema_upgrade.migrate(engine)


class Storage:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)

    async def open(self) -> None:
        await asyncio.to_thread(migrate, self.engine)

    async def close(self) -> None:
        await asyncio.to_thread(self.engine.dispose)

    async def check(self) -> None:
        def ping() -> None:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))

        await asyncio.to_thread(ping)

    # --- conversations -------------------------------------------------------

    # Every conversation method takes its owner: another user's conversation does not
    # exist for them (the API answers 404, so ids do not leak).

    async def conversation_exists(self, conversation_id: str, user_id: str | None = None) -> bool:
        def work() -> bool:
            with self.engine.connect() as conn:
                q = sa.select(conversations.c.id).where(
                    conversations.c.id == conversation_id, owned_by(conversations.c.user_id, user_id)
                )
                return conn.execute(q).first() is not None

        return await asyncio.to_thread(work)

    async def create_conversation(
        self, title: str, cid: str | None = None, user_id: str | None = None
    ) -> str:
        cid = cid or new_id()
        now = utcnow()

        def work() -> None:
            with self.engine.begin() as conn:
                conn.execute(
                    conversations.insert().values(
                        id=cid, title=title[:200], created_at=now, updated_at=now,
                        user_id=user_id,
                    )
                )

        await asyncio.to_thread(work)
        return cid

    async def count_conversations(self, user_id: str | None = None) -> int:
        def work() -> int:
            with self.engine.connect() as conn:
                q = sa.select(sa.func.count()).select_from(conversations).where(
                    owned_by(conversations.c.user_id, user_id)
                )
                return int(conn.execute(q).scalar_one())

        return await asyncio.to_thread(work)

    async def list_conversations(
        self, limit: int | None = None, offset: int = 0, user_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Newest activity first; `limit` None = all of them."""

        def work() -> list[dict[str, Any]]:
            count = (
                sa.select(sa.func.count(messages.c.id))
                .where(messages.c.conversation_id == conversations.c.id)
                .scalar_subquery()
            )
            q = sa.select(conversations, count.label("message_count")).where(
                owned_by(conversations.c.user_id, user_id)
            ).order_by(
                conversations.c.updated_at.desc(), conversations.c.id
            ).limit(limit).offset(offset)
            with self.engine.connect() as conn:
                return [
                    {
                        "id": r.id,
                        "title": r.title,
                        "created_at": _iso(r.created_at),
                        "updated_at": _iso(r.updated_at),
                        "message_count": r.message_count,
                    }
                    for r in conn.execute(q)
                ]

        return await asyncio.to_thread(work)

    async def get_conversation(
        self, conversation_id: str, user_id: str | None = None
    ) -> dict[str, Any] | None:
        def work() -> dict[str, Any] | None:
            with self.engine.connect() as conn:
                conv = conn.execute(
                    sa.select(conversations).where(
                        conversations.c.id == conversation_id,
                        owned_by(conversations.c.user_id, user_id),
                    )
                ).first()
                if conv is None:
                    return None
                rows = conn.execute(
                    sa.select(messages)
                    .where(messages.c.conversation_id == conversation_id)
                    .order_by(messages.c.created_at, messages.c.id)
                )
                return {
                    "id": conv.id,
                    "title": conv.title,
                    "created_at": _iso(conv.created_at),
                    "updated_at": _iso(conv.updated_at),
                    "messages": [_answer(r) for r in rows],
                }

        return await asyncio.to_thread(work)

    async def history(
        self, conversation_id: str, limit: int = 10, user_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The last `limit` answers of a conversation, oldest first (planner context)."""
        conv = await self.get_conversation(conversation_id, user_id)
        return conv["messages"][-limit:] if conv else []

    async def delete_conversation(self, conversation_id: str, user_id: str | None = None) -> bool:
        def work() -> bool:
            with self.engine.begin() as conn:
                res = conn.execute(
                    conversations.delete().where(
                        conversations.c.id == conversation_id,
                        owned_by(conversations.c.user_id, user_id),
                    )
                )
                if res.rowcount:
                    conn.execute(
                        messages.delete().where(messages.c.conversation_id == conversation_id)
                    )
                return res.rowcount > 0

        return await asyncio.to_thread(work)

    # --- messages and runs -----------------------------------------------------

    async def add_message(
        self,
        conversation_id: str,
        question: str,
        plan: dict[str, Any] | None,
        result: dict[str, Any] | None,
        message: str,
        suggestions: list[str],
        user_id: str | None = None,
        clarify: dict[str, Any] | None = None,
        follow_ups: list[str] | None = None,
    ) -> dict[str, Any]:
        mid = new_id()
        now = utcnow()
        row = {
            "id": mid,
            "conversation_id": conversation_id,
            "question": question,
            "plan": plan,
            "result": result,
            "message": message,
            "suggestions": suggestions,
            "created_at": now,
            "user_id": user_id,
            "clarify": clarify,
            "follow_ups": follow_ups or None,
        }

        def work() -> None:
            with self.engine.begin() as conn:
                # The conversation first: deleted while its answer was being made (a
                # client deleting it during a follow-up), it is gone, not a 500.
                touched = conn.execute(
                    conversations.update()
                    .where(conversations.c.id == conversation_id,
                           owned_by(conversations.c.user_id, user_id))
                    .values(updated_at=now)
                ).rowcount
                if not touched:
                    raise ConversationGone(conversation_id)
                conn.execute(messages.insert().values(**row))

        await asyncio.to_thread(work)
        return {**row, "created_at": _iso(now), "reading": reading_of(plan),
                "unread": unread_of(plan), "follow_ups": follow_ups or []}

    async def record_run(
        self,
        result: dict[str, Any],
        language: str,
        code: str,
        executor: str,
        duration_ms: int,
        conversation_id: str | None = None,
        message_id: str | None = None,
        user_id: str | None = None,
        question: str | None = None,
    ) -> None:
        error = result.get("error") or {}
        values = {
            "run_id": result["run_id"],
            "conversation_id": conversation_id,
            "message_id": message_id,
            "language": language,
            "code": code,
            "status": result["status"],
            "error_type": error.get("type"),
            "duration_ms": duration_ms,
            "row_count": result.get("row_count", 0),
            "executor": executor,
            "created_at": utcnow(),
            "user_id": user_id,
            "question": question,
        }

        def work() -> None:
            with self.engine.begin() as conn:
                conn.execute(runs.insert().values(**values))

        await asyncio.to_thread(work)

    async def link_run(self, run_id: str, message_id: str) -> None:
        def work() -> None:
            with self.engine.begin() as conn:
                conn.execute(runs.update().where(runs.c.run_id == run_id).values(message_id=message_id))

        await asyncio.to_thread(work)

    async def list_runs(self, limit: int = 100) -> list[dict[str, Any]]:
        def work() -> list[dict[str, Any]]:
            q = sa.select(runs).order_by(runs.c.id.desc()).limit(limit)
            with self.engine.connect() as conn:
                return [
                    {**r._mapping, "created_at": _iso(r.created_at)} for r in conn.execute(q)
                ]

        return await asyncio.to_thread(work)


def _answer(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "conversation_id": r.conversation_id,
        "question": r.question,
        "created_at": _iso(r.created_at),
        "plan": r.plan,
        "result": r.result,
        "message": r.message,
        "reading": reading_of(r.plan),
        "unread": unread_of(r.plan),
        "suggestions": r.suggestions or [],
        "clarify": r.clarify,
        "follow_ups": r.follow_ups or [],
    }

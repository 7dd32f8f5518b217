"""Server-side sessions for the browser: the cookie holds a random id, the table its
sha256 (a stolen database backup opens no session); each session has its CSRF token,
an absolute expiry (SESSION_MAX_AGE_S) and an idle timeout (SESSION_IDLE_TIMEOUT_S).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.auth.users import User, get
from app.storage import metadata, stored_utc, utcnow

COOKIE = "corral_session"
CSRF_COOKIE = "corral_csrf"
CSRF_HEADER = "X-CSRF-Token"

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("id_token", sa.Text, nullable=True),
    sa.Column("refresh_token", sa.Text, nullable=True),
    sa.Column("access_token_expires_at", sa.DateTime(timezone=True), nullable=True),
)


@dataclass(frozen=True)
class Session:
    id_hash: str
    user_id: str
    csrf_token: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    id_token: str | None = None
    refresh_token: str | None = None
    access_token_expires_at: dt.datetime | None = None


def hash_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _session(row: Any) -> Session:
    return Session(row.id_hash, row.user_id, row.csrf_token, stored_utc(row.created_at),
                   stored_utc(row.last_seen_at), stored_utc(row.expires_at), row.id_token,
                   row.refresh_token, stored_utc(row.access_token_expires_at))


def create(engine: Engine, user_id: str, max_age_s: int, **oidc: Any) -> tuple[str, Session]:
    """A new session: (the cookie value, its row). `oidc`: id_token, refresh_token, ..."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    values = {"id_hash": hash_id(session_id), "user_id": user_id,
              "csrf_token": secrets.token_urlsafe(32), "created_at": now, "last_seen_at": now,
              "expires_at": now + dt.timedelta(seconds=max_age_s), "id_token": None,
              "refresh_token": None, "access_token_expires_at": None, **oidc}
    with engine.begin() as conn:
        # Expired sessions go when new ones come: the table stays the size of its users.
        conn.execute(sessions.delete().where(sessions.c.expires_at <= now))
        conn.execute(sessions.insert().values(**values))
    return session_id, Session(**values)


def lookup(engine: Engine, session_id: str, idle_timeout_s: int) -> tuple[Session, User] | None:
    """The live session with this cookie value and its (enabled) user; None otherwise.
    Seeing it keeps it alive (last_seen_at), written at most every tenth of the idle
    timeout (and at least every minute) so not every request writes."""
    now = utcnow()
    with engine.connect() as conn:
        row = conn.execute(sa.select(sessions).where(
            sessions.c.id_hash == hash_id(session_id))).first()
    if row is None:
        return None
    session = _session(row)
    idle = dt.timedelta(seconds=idle_timeout_s)
    if session.expires_at <= now or session.last_seen_at + idle <= now:
        delete_hash(engine, session.id_hash)
        return None
    user = get(engine, session.user_id)
    if user is None or user.disabled:
        return None
    if now - session.last_seen_at >= min(idle / 10, dt.timedelta(seconds=60)):
        update(engine, session.id_hash, last_seen_at=now)
    return session, user


def update(engine: Engine, id_hash: str, **values: Any) -> None:
    """Set columns of one session (last_seen_at; after an OIDC refresh, the new tokens)."""
    with engine.begin() as conn:
        conn.execute(sessions.update().where(sessions.c.id_hash == id_hash).values(**values))


def delete(engine: Engine, session_id: str) -> Session | None:
    """End the session with this cookie value; its row (for the OIDC logout hint)."""
    id_hash = hash_id(session_id)
    with engine.begin() as conn:
        row = conn.execute(sa.select(sessions).where(sessions.c.id_hash == id_hash)).first()
        conn.execute(sessions.delete().where(sessions.c.id_hash == id_hash))
    return _session(row) if row else None


def delete_hash(engine: Engine, id_hash: str) -> None:
    with engine.begin() as conn:
        conn.execute(sessions.delete().where(sessions.c.id_hash == id_hash))


def delete_for_user(engine: Engine, user_id: str) -> int:
    """End every session of a user (disabled, or password reset)."""
    with engine.begin() as conn:
        return conn.execute(sessions.delete().where(sessions.c.user_id == user_id)).rowcount


def cookie_secure(setting: str, scheme: str) -> bool:
    """COOKIE_SECURE: true, false, or auto (Secure when the request came over https)."""
    return setting == "true" or (setting == "auto" and scheme == "https")

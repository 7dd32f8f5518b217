"""API tokens for automation: created (the secret shown once), stored as a sha256 hash,
scoped (query | admin), expiring, revocable, with the time each was last used.

A token is `crl_` + 43 characters of urlsafe base64 (32 random bytes); `prefix` (the
first 8 characters after `crl_`) names it in lists without revealing it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.auth.users import User, UserError, get, users
from app.storage import metadata, new_id, stored_utc, utcnow

PREFIX = "crl_"
SCOPES = ("query", "admin")
_FORMAT = re.compile(r"^crl_[A-Za-z0-9_-]{43}$")
# last_used_at is written at most this often per token: one write per request would
# make every automated call a database write.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("prefix", sa.String(8), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)


@dataclass(frozen=True)
class TokenInfo:
    id: str
    user_id: str
    username: str
    name: str
    prefix: str
    scope: str
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _info(row: Any) -> TokenInfo:
    return TokenInfo(row.id, row.user_id, row.username, row.name, row.prefix, row.scope,
                     stored_utc(row.created_at), stored_utc(row.expires_at), stored_utc(row.last_used_at),
                     stored_utc(row.revoked_at))


def create(engine: Engine, user: User, name: str, scope: str, expires_in_days: int,
           max_days: int) -> tuple[str, TokenInfo]:
    """A new token for `user`: (the secret, shown only now; its row). UserError names a bad field."""
    if scope not in SCOPES:
        raise UserError("scope", f"expected one of {', '.join(SCOPES)}")
    if scope == "admin" and not user.is_admin:
        raise UserError("scope", f"an admin-scope token needs an admin user; "
                        f"{user.username!r} is {user.role}")
    if not 1 <= expires_in_days <= max_days:
        raise UserError("expires_in_days", f"expected 1 to {max_days} (API_TOKEN_MAX_DAYS)")
    if user.disabled:
        raise UserError("username", f"{user.username!r} is disabled")
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise UserError("name", "expected 1 to 100 characters")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    values = {"id": new_id(), "user_id": user.id, "name": name,
              "prefix": secret[len(PREFIX):len(PREFIX) + 8], "token_hash": hash_token(secret),
              "scope": scope, "created_at": now,
              "expires_at": now + dt.timedelta(days=expires_in_days),
              "last_used_at": None, "revoked_at": None}
    with engine.begin() as conn:
        conn.execute(api_tokens.insert().values(**values))
    row = dict(values, username=user.username)
    row.pop("token_hash")
    return secret, TokenInfo(**row)


def check(engine: Engine, secret: str) -> tuple[TokenInfo, User] | None:
    """The token and its user, when the token is well-formed, known, unexpired, not
    revoked and its user is enabled; else None (one answer for every failure)."""
    if not _FORMAT.match(secret):
        return None
    now = utcnow()
    with engine.connect() as conn:
        row = conn.execute(_joined().where(api_tokens.c.token_hash == hash_token(secret))).first()
    if row is None or row.revoked_at is not None or stored_utc(row.expires_at) <= now:
        return None
    info = _info(row)
    user = get(engine, info.user_id)
    if user is None or user.disabled:
        return None
    if info.last_used_at is None or now - info.last_used_at >= LAST_USED_RESOLUTION:
        with engine.begin() as conn:
            conn.execute(api_tokens.update().where(api_tokens.c.id == info.id)
                         .values(last_used_at=now))
    return info, user


def _joined() -> sa.Select[Any]:
    return sa.select(api_tokens, users.c.username).join(users, users.c.id == api_tokens.c.user_id)


def get_token(engine: Engine, token_id: str) -> TokenInfo | None:
    with engine.connect() as conn:
        row = conn.execute(_joined().where(api_tokens.c.id == token_id)).first()
    return _info(row) if row else None


def list_tokens(engine: Engine, user_id: str | None = None) -> list[TokenInfo]:
    """Every token (user_id None) or one user's, newest first; revoked ones included."""
    q = _joined().order_by(api_tokens.c.created_at.desc(), api_tokens.c.id)
    if user_id is not None:
        q = q.where(api_tokens.c.user_id == user_id)
    with engine.connect() as conn:
        return [_info(r) for r in conn.execute(q)]


def revoke(engine: Engine, token_id: str) -> bool:
    """Revoke it (idempotent); False when there is no such token."""
    with engine.begin() as conn:
        exists = conn.execute(sa.select(api_tokens.c.id).where(api_tokens.c.id == token_id)).first()
        if exists is None:
            return False
        conn.execute(api_tokens.update().where(api_tokens.c.id == token_id,
                                               api_tokens.c.revoked_at.is_(None))
                     .values(revoked_at=utcnow()))
    return True

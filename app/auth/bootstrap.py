"""The first admin: a one-time setup code (`corral setup-code`), stored as a sha256
hash, expiring and single use, redeemed by `POST /api/auth/setup`. There is no
default password anywhere; once an admin exists no code is issued or accepted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import secrets

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.auth import users
from app.settings import Settings
from app.storage import metadata, utcnow

log = logging.getLogger("corral.auth")

DEFAULT_EXPIRES_MINUTES = 1440

setup_codes = sa.Table(
    "setup_codes",
    metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
)


class AdminExists(Exception):
    """An admin exists already: setup is over, sign in instead."""


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def create_code(engine: Engine, expires_minutes: int = DEFAULT_EXPIRES_MINUTES) -> str:
    """A new one-time code; AdminExists when setup is over."""
    if users.admin_exists(engine):
        raise AdminExists()
    code = secrets.token_urlsafe(24)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(setup_codes.insert().values(
            code_hash=_hash(code), created_at=now, used_at=None,
            expires_at=now + dt.timedelta(minutes=expires_minutes)))
    return code


def redeem(engine: Engine, code: str) -> bool:
    """Use the code (once, before it expires); True when it was valid. Every other
    unused code is spent with it: one setup per install."""
    now = utcnow()
    with engine.begin() as conn:
        used = conn.execute(setup_codes.update().where(
            setup_codes.c.code_hash == _hash(code), setup_codes.c.used_at.is_(None),
            setup_codes.c.expires_at > now).values(used_at=now)).rowcount
        if used:
            conn.execute(setup_codes.update().where(setup_codes.c.used_at.is_(None))
                         .values(used_at=now))
    return used == 1


async def announce_sign_in(settings: Settings, engine: Engine) -> None:
    """At start-up: say loudly when sign-in is off, and how to create the first admin."""
    if settings.auth_mode == "none":
        log.warning("AUTH_MODE=none: NO SIGN-IN. Every client on this machine (loopback) "
                    "is an admin; clients from elsewhere are refused. Never use this on a "
                    "shared or public host.")
        return
    log.info("sign-in: AUTH_MODE=%s", settings.auth_mode)
    if "local" in settings.auth_modes and not await asyncio.to_thread(users.admin_exists, engine):
        log.warning("no admin yet: run `corral setup-code` on the server and enter the code "
                    "on the sign-in page (or POST /api/auth/setup)")

"""Failed sign-ins counted per username (known or not, so lockout says nothing about
who exists), with back-off: after LOGIN_MAX_FAILURES failures the name is locked for
LOGIN_LOCKOUT_S; every further failure after that locks it again for twice as long,
up to one hour. A successful sign-in clears the count.

Two counts per name: one per client address, which locks at LOGIN_MAX_FAILURES, and one
across all addresses, which locks at NAME_WIDE_FACTOR times that. So a stranger guessing
from one address locks only that address out of the name (not its owner elsewhere), and
guesses spread over many addresses are still bounded per name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from app.storage import metadata, stored_utc, utcnow

MAX_LOCKOUT_S = 3600
NAME_WIDE_FACTOR = 10

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
)


def key(username: str, address: str | None = None) -> str:
    """The count's key: the name, or the name as tried from one client address."""
    name = username.strip().lower()
    return hashlib.sha256((name if address is None else f"{name}\0{address}").encode()).hexdigest()


def _keys(username: str, address: str) -> tuple[str, str]:
    return key(username, address), key(username)


def lockout_s(failures: int, max_failures: int, first_s: int) -> int:
    """How long `failures` failures lock a name: 0 below max_failures, then first_s
    doubling with each further failure, capped at MAX_LOCKOUT_S."""
    if failures < max_failures:
        return 0
    doublings = min(failures - max_failures, 12)  # 2**12 * 1 s is past the cap already
    return min(first_s * 2**doublings, MAX_LOCKOUT_S)


def retry_after(engine: Engine, username: str, address: str) -> int:
    """Seconds until this name may try again from this address; 0 when it is not locked."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(login_failures.c.locked_until).where(
            login_failures.c.key.in_(_keys(username, address)))).scalars().all()
    now, waits = utcnow(), [0.0]
    for locked in rows:
        if locked is not None:
            waits.append((stored_utc(locked) - now).total_seconds())
    left = max(waits)
    return math.ceil(left) if left > 0 else 0


def record_failure(engine: Engine, username: str, address: str, max_failures: int,
                   first_s: int) -> int:
    """Count one failure from this address; the lockout it starts in seconds (0: none)."""
    own, name_wide = _keys(username, address)
    return max(_count(engine, own, max_failures, first_s),
               _count(engine, name_wide, max_failures * NAME_WIDE_FACTOR, first_s))


def _count(engine: Engine, k: str, max_failures: int, first_s: int) -> int:
    """The count is bumped in the database (failures + 1), so concurrent failures all count."""
    for _ in range(3):
        try:
            return _count_failure(engine, k, max_failures, first_s)
        except IntegrityError:
            continue  # a concurrent failure inserted the row first: bump that one
    return 0


def _count_failure(engine: Engine, k: str, max_failures: int, first_s: int) -> int:
    row = login_failures.c.key == k
    with engine.begin() as conn:
        bumped = conn.execute(login_failures.update().where(row)
                              .values(failures=login_failures.c.failures + 1)).rowcount
        if not bumped:
            conn.execute(login_failures.insert().values(key=k, failures=1, locked_until=None))
        count = conn.execute(sa.select(login_failures.c.failures).where(row)).scalar_one()
        seconds = lockout_s(count, max_failures, first_s)
        if seconds:
            conn.execute(login_failures.update().where(row).values(
                locked_until=utcnow() + dt.timedelta(seconds=seconds)))
    return seconds


def clear(engine: Engine, username: str, address: str) -> None:
    with engine.begin() as conn:
        conn.execute(login_failures.delete().where(
            login_failures.c.key.in_(_keys(username, address))))

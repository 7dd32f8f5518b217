"""The identity tables under concurrency, on real SQLite and (when installed) PostgreSQL:
failed sign-ins all count, a username is unique regardless of case, and two admins
demoting each other at once leave one."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.auth import lockout, users
from app.storage import make_engine, migrate, new_id, sqlalchemy_url, utcnow

TABLES = ("runs, messages, conversations, api_tokens, sessions, login_failures, setup_codes, "
          "users, alembic_version")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/corral.db"
    else:
        url = sqlalchemy_url(request.getfixturevalue("postgres_url"))
        clean = sa.create_engine(url)
        with clean.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {TABLES} CASCADE"))
        clean.dispose()
    e = make_engine(url)
    migrate(e)
    yield e
    e.dispose()


def test_concurrent_failures_all_count(engine):
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: lockout.record_failure(engine, "target", "192.0.2.1", 100, 60),
                      range(16)))
    with engine.connect() as conn:  # the count for that address and the name-wide one
        counts = conn.execute(sa.select(lockout.login_failures.c.failures)).scalars().all()
    assert counts == [16, 16]


def test_usernames_are_unique_regardless_of_case(engine):
    users.create(engine, "alice")
    with pytest.raises(users.UsernameTaken):
        users.create(engine, "ALICE")
    row = {"id": new_id(), "username": "Alice", "display_name": "x", "role": "analyst",
           "source": "local", "disabled": False, "created_at": utcnow()}
    with pytest.raises(IntegrityError), engine.begin() as conn:  # the database says so too
        conn.execute(users.users.insert().values(**row))


def test_two_admins_demoting_each_other_at_once_leave_one(engine):
    """As two replicas would (no lock shared in the process): the last-admin check locks
    the admins' rows in the database, so one change waits for the other and is refused."""
    for round_ in range(10):
        first = users.create(engine, f"first{round_}", "admin")
        second = users.create(engine, f"second{round_}", "admin")
        with engine.begin() as conn:  # only these two are enabled admins this round
            conn.execute(users.users.update().where(
                users.users.c.id.not_in([first.id, second.id])).values(disabled=True))
        start = threading.Barrier(2)

        def demote(user_id: str, start: threading.Barrier = start) -> str:
            start.wait()
            try:
                users.update(engine, user_id, keep_an_admin=True, disabled=True)
                return "changed"
            except users.LastAdmin:
                return "refused"

        with ThreadPoolExecutor(2) as pool:
            outcomes = list(pool.map(demote, [first.id, second.id]))
        assert users.admin_exists(engine), (round_, outcomes)
        assert outcomes.count("changed") == 1, outcomes

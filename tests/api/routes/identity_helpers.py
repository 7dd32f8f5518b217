"""Helpers for the identity route tests: users made through the admin API, browser-like
sign-ins (cookies + CSRF token), and direct looks into the server's database for what
a client cannot do (age a token or a session)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import sqlalchemy as sa
from agent_server import RunningServer

from app.storage import make_engine, sqlalchemy_url

PASSWORD = "correct horse battery"


def add_user(admin: httpx.Client, username: str, role: str = "analyst",
             password: str = PASSWORD) -> dict:
    answer = admin.post("/api/admin/users",
                        json={"username": username, "role": role, "password": password})
    assert answer.status_code == 201, answer.text
    return answer.json()


@contextmanager
def sign_in(server: RunningServer, username: str,
            password: str = PASSWORD) -> Iterator[httpx.Client]:
    """A client holding the session cookies of `username`, sending its CSRF token as the
    UI does (X-CSRF-Token on every request)."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        answer = client.post("/api/auth/login",
                             json={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        yield client


def token_for(admin: httpx.Client, username: str, scope: str = "query") -> str:
    answer = admin.post("/api/tokens", json={"name": f"{username} {scope}", "scope": scope,
                                             "expires_in_days": 1, "username": username})
    assert answer.status_code == 201, answer.text
    return answer.json()["token"]


def bearer(server: RunningServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=60,
                        headers={"Authorization": f"Bearer {token}"})


def set_past(server: RunningServer, table: str, column: str, where: str, value: str) -> None:
    """Set `column` of the matching row a day into the past (an aged token or session)."""
    engine = make_engine(sqlalchemy_url(server.settings.database_url))
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {table} SET {column} = :past WHERE {where} = :value"),
                     {"past": past, "value": value})
    engine.dispose()

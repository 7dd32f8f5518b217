"""A throw-away PostgreSQL server for the storage tests (tests/pg_server.py), when the
Debian package `postgresql` is installed; skips with the reason otherwise."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pg_server import PostgresUnavailable, postgres_server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    try:
        with postgres_server() as server:
            yield server.url
    except PostgresUnavailable as exc:
        pytest.skip(f"{exc}; SQLite tests ran")

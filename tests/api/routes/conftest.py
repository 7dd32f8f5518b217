"""One agent server for the route tests, configured as a venv deployment is (UI files
at /, bubblewrap sandboxes, SQLite)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from agent_server import ROOT, RunningServer, server_settings
from route_helpers import MAX_ROWS


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    settings = server_settings(tmp_path_factory.mktemp("routes"), max_rows=MAX_ROWS,
                               ui_dir=ROOT / "app" / "ui")
    with RunningServer(settings) as s, httpx.Client(base_url=s.url, headers=s.headers, timeout=60) as c:
        yield c


@pytest.fixture(scope="session")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server for the identity tests: a lockout after 3 failures (long enough that a
    loaded machine cannot outwait it; tests expire it in the database), no warm sandboxes."""
    settings = server_settings(tmp_path_factory.mktemp("auth"), warm_pool_size=0,
                               login_max_failures=3, login_lockout_s=600)
    with RunningServer(settings) as s:
        yield s


@pytest.fixture(scope="session")
def admin(auth_server: RunningServer) -> Iterator[httpx.Client]:
    """The test admin, with an admin-scope API token."""
    with httpx.Client(base_url=auth_server.url, headers=auth_server.headers, timeout=60) as c:
        yield c

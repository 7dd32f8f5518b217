"""Module-scoped agent server and client for the API tests (see agent_server.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from agent_server import RunningServer, server_settings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with RunningServer(server_settings(tmp_path_factory.mktemp("api"))) as s:
        yield s


@pytest.fixture(scope="module")
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=60) as c:
        yield c

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
    with RunningServer(settings) as s, httpx.Client(base_url=s.url, timeout=60) as c:
        yield c

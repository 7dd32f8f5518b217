"""bwrap mode where no cgroup can cap the whole sandbox: it refuses to run and /readyz
says why, unless the operator opted in, and then /readyz shows the weaker mode."""

from __future__ import annotations

import httpx
import pytest
from agent_server import RunningServer, server_settings

from app.executors import cgroups

pytestmark = pytest.mark.bwrap


@pytest.fixture
def no_cgroups(tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-cgroup-fs"
    blocked.write_text("")  # a file: no cgroup can be made under it
    monkeypatch.setattr(cgroups, "ROOT", blocked)


def test_without_cgroups_bwrap_refuses_and_says_why(tmp_path, no_cgroups):
    with RunningServer(server_settings(tmp_path)) as s, httpx.Client(base_url=s.url, headers=s.headers) as c:
        ready = c.get("/readyz")
        assert ready.status_code == 503
        assert "sandbox-wide memory and process limit" in ready.json()["detail"]
        assert "BWRAP_ALLOW_PER_PROCESS_LIMITS=true" in ready.json()["detail"]
        result = c.post("/api/query", json={"language": "sql", "code": "SELECT 1 AS x"}).json()
        assert result["status"] == "unavailable"


def test_the_operators_opt_in_runs_and_readyz_shows_the_weaker_mode(tmp_path, no_cgroups):
    settings = server_settings(tmp_path, bwrap_allow_per_process_limits=True)
    with RunningServer(settings) as s, httpx.Client(base_url=s.url, headers=s.headers, timeout=60) as c:
        ready = c.get("/readyz")
        assert ready.status_code == 200
        assert "per-process limits only" in ready.json()["isolation"]
        result = c.post("/api/query", json={"language": "sql", "code": "SELECT 1 AS x"}).json()
        assert result["status"] == "ok"


def test_with_cgroups_readyz_shows_no_weaker_mode(tmp_path):
    with RunningServer(server_settings(tmp_path)) as s, httpx.Client(base_url=s.url, headers=s.headers) as c:
        assert c.get("/readyz").json() == {"status": "ready", "executor": "bwrap"}

"""/healthz, /readyz, /api/readyz and /metrics as a client sees them."""

from __future__ import annotations

import httpx
import pytest
from agent_server import RunningServer, server_settings


def test_healthz(api):
    response = api.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.bwrap  # ready means bubblewrap answers
def test_readyz_and_its_proxy_path(api):
    for path in ("/readyz", "/api/readyz"):
        response = api.get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ready", "executor": "bwrap"}


def test_readyz_names_the_problem_when_docker_is_down(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such-docker.sock")
    settings = server_settings(tmp_path, execution_mode="docker")
    with RunningServer(settings) as s, httpx.Client(base_url=s.url, headers=s.headers) as c:
        response = c.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable" and body["executor"] == "docker"
        assert "docker" in body["detail"].lower()
        assert c.get("/healthz").status_code == 200  # still serving


def test_metrics_are_prometheus_text(api):
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    for name in ("corral_runs_total", "corral_run_duration_seconds", "corral_active_sandboxes",
                 "corral_capacity_rejections_total", "corral_plans_total"):
        assert f"# TYPE {name}" in response.text


def test_probes_refuse_other_methods(api):
    for path in ("/healthz", "/readyz", "/metrics"):
        response = api.post(path)
        assert response.status_code == 405
        assert response.headers["allow"] == "GET"

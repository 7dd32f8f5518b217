"""Analysts see plain messages when the sandbox, not their question, fails; operators
find the details (the exception, the commands to run) in the log and on /readyz."""

from __future__ import annotations

import logging

import httpx
from agent_server import RunningServer, server_settings

OPERATOR_WORDS = ("sudo", "dockerd", "systemctl", "Error", "Exception", "unix://", "socket")


def test_engine_down_is_plain_for_analysts_and_detailed_for_operators(
        tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    settings = server_settings(tmp_path, execution_mode="docker")
    with caplog.at_level(logging.WARNING, logger="corral.runs"), RunningServer(settings) as s, \
            httpx.Client(base_url=s.url, headers=s.headers, timeout=60) as c:
        result = c.post("/api/query", json={"language": "sql", "code": "SELECT 1 AS x"}).json()
        answer = c.post("/api/chat", json={
            "question": "What are the top 5 destinations by number of flights?"}).json()
        ready = c.get("/readyz").json()
    assert result["status"] == "unavailable"
    for text in (result["error"]["message"], answer["result"]["error"]["message"]):
        assert "tell your operator" in text
        assert not [w for w in OPERATOR_WORDS if w in text], text
    # the answer line does not repeat the error the UI shows under its heading
    assert answer["message"] == "The sandbox stopped the run (unavailable): there is no table this time."
    assert result["run_id"] in result["error"]["message"]  # so the operator finds the log line
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert result["run_id"] in logged and "dockerd" in logged
    assert "dockerd" in ready["detail"]

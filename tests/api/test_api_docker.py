"""The agent server with the Docker executor: in-process against the real runner
image, and the agent-server image itself driving the host's Docker through its
socket (as compose runs it), checked with scripts/smoke.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import docker
import httpx
import pytest
from agent_server import ROOT, RunningServer, server_settings, stop_agent_container, wait_ready
from auth_helpers import container_token

pytestmark = pytest.mark.docker

AGENT_IMAGE = os.environ.get("AGENT_IMAGE", "corral/agent-server:latest")
RUNNER_IMAGE = os.environ.get("RUNNER_IMAGE", "corral/runner:latest")
LABEL = "io.corral.sandbox"


def _sandboxes() -> set[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={LABEL}"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def _need_image(name: str) -> None:
    try:
        docker.from_env().images.get(name)
    except docker.errors.ImageNotFound:
        pytest.fail(f"image {name} is missing: run `make images` first")


def test_chat_runs_in_docker_sandboxes(tmp_path):
    _need_image(RUNNER_IMAGE)
    before = _sandboxes()
    settings = server_settings(tmp_path, execution_mode="docker", runner_image=RUNNER_IMAGE)
    with RunningServer(settings) as s, httpx.Client(base_url=s.url, headers=s.headers, timeout=60) as c:
        assert c.get("/readyz").json() == {"status": "ready", "executor": "docker"}
        answer = c.post("/api/chat", json={
            "question": "What are the top 5 destinations by number of flights?"}).json()
        assert answer["result"]["status"] == "ok"
        assert answer["result"]["rows"][0] == ["ORD", 17283]
        refused = c.post("/api/query", json={"language": "sql", "code": "INSTALL httpfs"})
        assert refused.json()["status"] == "rejected"
    assert _sandboxes() <= before  # every sandbox removed



def test_agent_server_image_serves_the_canonical_prompts():
    _need_image(AGENT_IMAGE)
    _need_image(RUNNER_IMAGE)
    socket_gid = os.stat("/var/run/docker.sock").st_gid
    name = f"corral-agent-test-{uuid.uuid4().hex[:8]}"
    volume = f"{name}-state"
    run = subprocess.run([
        "docker", "run", "-d", "--name", name, "--read-only", "--tmpfs", "/tmp:size=64m",
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--group-add", str(socket_gid), "-v", "/var/run/docker.sock:/var/run/docker.sock",
        "-v", f"{volume}:/var/lib/corral", "-e", f"RUNNER_IMAGE={RUNNER_IMAGE}",
        "-p", "127.0.0.1::8000", AGENT_IMAGE], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    try:
        port = subprocess.run(["docker", "port", name, "8000"], capture_output=True, text=True,
                              check=True).stdout.split()[0].rsplit(":", 1)[1]
        wait_ready(f"http://127.0.0.1:{port}", 60)  # migrated before the CLI touches it
        token = container_token(name)
        smoke = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "smoke.py"), "--url",
             f"http://127.0.0.1:{port}", "--wait", "60"],
            capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, "CORRAL_TOKEN": token})
        assert smoke.returncode == 0, smoke.stdout + smoke.stderr
        assert "3/3 canonical prompts passed" in smoke.stdout
        # the bundled UI is served by the same image (UI_DIR)
        assert "<html" in httpx.get(f"http://127.0.0.1:{port}/").text.lower()
        info = json.loads(subprocess.run(["docker", "inspect", name], capture_output=True,
                                         text=True, check=True).stdout)[0]
        assert info["Config"]["User"] == "10001:10001"
        assert "/healthz" in " ".join(info["Config"]["Healthcheck"]["Test"])
    finally:
        stop_agent_container(name)
        subprocess.run(["docker", "volume", "rm", volume], capture_output=True, check=False)

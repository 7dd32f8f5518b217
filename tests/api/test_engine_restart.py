"""The agent survives a Docker engine restart by itself, as compose deploys it.

A private engine (its own socket, data and exec roots and network namespace, no bridge,
no iptables) that
this test starts and restarts, so no other user of the host's engine is touched. The
agent-server image runs on the host's engine with the private socket's *directory*
mounted (as compose.yaml mounts the host's), and drives the private engine. Traffic
keeps flowing while the engine restarts: no request may fail with a 500, /readyz must
say what is true meanwhile, and the agent must answer again without being restarted.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from agent_server import wait_ready
from auth_helpers import auth_headers, container_token

pytestmark = pytest.mark.docker

AGENT_IMAGE = os.environ.get("AGENT_IMAGE", "corral/agent-server:latest")
RUNNER_IMAGE = os.environ.get("RUNNER_IMAGE", "corral/runner:latest")
# The Authorization header of the agent container's test admin (set by the agent fixture).
AUTH: dict[str, str] = {}


class PrivateEngine:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "run" / "docker.sock"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        for sub in ("run", "data", "exec"):
            (self.root / sub).mkdir(exist_ok=True)
        log = open(self.root / "dockerd.log", "ab")  # noqa: SIM115 - lives as long as dockerd
        # Its own network namespace: an engine started with --bridge=none deletes the
        # docker0 bridge of the namespace it runs in, which must not be the host's.
        self.proc = subprocess.Popen(
            ["unshare", "--net", "dockerd", "-H", f"unix://{self.socket}", "--data-root", str(self.root / "data"),
             "--exec-root", str(self.root / "exec"), "--pidfile", str(self.root / "dockerd.pid"),
             "--bridge=none", "--iptables=false", "--ip6tables=false"],
            stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 90
        while self.docker("info", check=False).returncode != 0:
            assert self.proc.poll() is None, (self.root / "dockerd.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the private engine did not start"
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def docker(self, *args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "-H", f"unix://{self.socket}", *args],
                              capture_output=True, check=check, **kw)


@pytest.fixture(scope="module")
def engine() -> Iterator[PrivateEngine]:
    if shutil.which("dockerd") is None:
        pytest.fail("dockerd is not installed: apt-get install -y docker.io")
    root = Path(tempfile.mkdtemp(prefix="corral-engine-"))  # short: a socket path is <108 chars
    private = PrivateEngine(root)
    private.start()
    try:
        image = subprocess.Popen(["docker", "save", RUNNER_IMAGE], stdout=subprocess.PIPE)
        private.docker("load", "-q", stdin=image.stdout)
        assert image.wait() == 0, f"{RUNNER_IMAGE} is missing: run `make images`"
        yield private
    finally:
        private.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def agent(engine: PrivateEngine) -> Iterator[str]:
    name = f"corral-restart-test-{uuid.uuid4().hex[:8]}"
    gid = engine.socket.stat().st_gid
    subprocess.run([
        "docker", "run", "-d", "--name", name, "--read-only", "--tmpfs", "/tmp:size=64m",
        "--tmpfs", "/var/lib/corral:uid=10001,gid=10001", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--group-add", str(gid), "-v", f"{engine.socket.parent}:/run/docker-host:ro",
        "-e", "DOCKER_HOST=unix:///run/docker-host/docker.sock", "-e", f"RUNNER_IMAGE={RUNNER_IMAGE}",
        "-p", "127.0.0.1::8000", AGENT_IMAGE], capture_output=True, text=True, check=True)
    try:
        port = subprocess.run(["docker", "port", name, "8000"], capture_output=True, text=True,
                              check=True).stdout.split()[0].rsplit(":", 1)[1]
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, 120)
        AUTH.update(auth_headers(container_token(name)))
        yield url
    finally:
        logs = subprocess.run(["docker", "logs", "--tail", "40", name], capture_output=True,
                              text=True, check=False)
        print(logs.stdout[-3000:], logs.stderr[-3000:])
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)



def _traffic(url: str, stop: threading.Event, log: list[tuple[float, int, str]]) -> None:
    with httpx.Client(base_url=url, headers=AUTH, timeout=60) as client:
        while not stop.is_set():
            try:
                r = client.post("/api/query", json={"language": "sql", "code": "SELECT 1 AS x"})
                body = r.json() if r.headers.get("content-type", "").startswith(
                    "application/json") else {}
                log.append((time.monotonic(), r.status_code, body.get("status", "")))
            except httpx.HTTPError as exc:
                log.append((time.monotonic(), 0, type(exc).__name__))
            time.sleep(0.3)


def test_the_agent_recovers_from_an_engine_restart_by_itself(engine, agent):
    assert httpx.post(f"{agent}/api/query", json={"language": "sql", "code": "SELECT 1 AS x"},
                      headers=AUTH, timeout=60).json()["status"] == "ok"
    stop, log = threading.Event(), []
    traffic = threading.Thread(target=_traffic, args=(agent, stop, log), daemon=True)
    traffic.start()
    time.sleep(2)
    engine.stop()
    down = httpx.get(f"{agent}/readyz", timeout=10)
    assert down.status_code == 503
    assert "not running" not in down.json()["detail"]  # it says what it knows, no more
    restarted = time.monotonic()
    engine.start()
    not_ready = wait_ready(agent, 120)
    recovered_s = time.monotonic() - restarted
    time.sleep(2)
    stop.set()
    traffic.join(timeout=90)
    after = httpx.post(f"{agent}/api/query", json={"language": "sql", "code": "SELECT 2 AS x"},
                       headers=AUTH, timeout=60).json()
    assert after["status"] == "ok" and after["rows"] == [[2]]
    codes = {code for _, code, _ in log}
    assert codes <= {200, 429}, log  # never a 500, never a dropped connection
    assert {status for _, _, status in log} <= {"ok", "unavailable", "crashed", ""}
    assert log[-1][2] == "ok", log[-5:]
    for answer in not_ready:
        assert "reconnects by itself" in answer["detail"] or "image" in answer["detail"], answer
    print(json.dumps({"engine_restart_recovery_s": round(recovered_s, 2),
                      "requests": len(log)}))

"""A real agent server for the API tests: uvicorn on 127.0.0.1 (ephemeral port) in a
background thread, the real app with real storage (SQLite) and, for runs, the real
bubblewrap executor. Clients talk HTTP to it with httpx, signed in with a real API token
of an admin ("tester"): `httpx.Client(base_url=s.url, headers=s.headers)`."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
from auth_helpers import auth_headers, issue_token

from app.main import create_app
from app.serving import ServerThread
from app.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "planner"))  # fake_llm_server


class RunningServer(ServerThread):
    def __init__(self, settings: Settings, tester: str | None = "tester") -> None:
        """`tester`: the admin whose token `headers` carry (None: no user at all, as a
        fresh install before its first admin)."""
        self.settings = settings
        self.token = issue_token(settings.database_url, tester) if tester else ""
        self.headers = auth_headers(self.token) if tester else {}
        super().__init__(create_app(settings))


def server_settings(tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "execution_mode": "bwrap",
        "datasets_path": ROOT / "datasets",
        "database_url": f"sqlite:///{tmp}/corral.db",
        "max_sandboxes": 4,
        "run_timeout_ms": 5000,
        # One user ("tester") makes every request of a suite: per-user limits only where a
        # test sets them (tests/api/test_user_limits.py).
        "user_runs_per_minute": 10000,
        "user_max_sandboxes": 256,
    }
    values.update(overrides)
    return load_settings(**values)


def metric(client: httpx.Client, name: str, **labels: str) -> float:
    """The value of one sample on /metrics (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        sample, _, label_text = key.partition("{")
        if sample != name:
            continue
        got = ",".join(sorted(label_text.rstrip("}").split(","))) if label_text else ""
        if got == want:
            return float(value)
    return 0.0


def wait_ready(url: str, seconds: float = 90, container: str | None = None) -> list[dict]:
    """Poll `url`/readyz until it answers 200 (bounded: a server starts in seconds, slower
    on a busy host); return every not-ready answer seen on the way. On time-out, fail
    with the last answers and, for a server in `container`, its log."""
    seen: list[dict] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{url}/readyz", timeout=10)
            if answer.status_code == 200:
                return seen
            seen.append(answer.json())
        except (httpx.HTTPError, ValueError):  # not listening yet, or not JSON
            pass
        time.sleep(0.5)
    logs = ""
    if container:
        out = subprocess.run(["docker", "logs", "--tail", "30", container],
                             capture_output=True, text=True, check=False)
        logs = f"; its log: {out.stdout}{out.stderr}"
    raise AssertionError(f"{url} not ready after {seconds} s; last answers: {seen[-3:]}{logs}")


def stop_agent_container(name: str, deployment: str | None = None) -> None:
    """Stop an agent-server container as an operator would (SIGTERM: on the way out it
    destroys its warm sandboxes), remove it, and, for a test's own `deployment`, any of
    that deployment's sandboxes still on the engine: a test leaves nothing behind."""
    subprocess.run(["docker", "stop", "-t", "30", name], capture_output=True, check=False)
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    if deployment:
        left = subprocess.run(["docker", "ps", "-aq", "--filter",
                               f"label=io.corral.deployment={deployment}"],
                              capture_output=True, text=True, check=False).stdout.split()
        if left:
            subprocess.run(["docker", "rm", "-f", *left], capture_output=True, check=False)

"""Real-browser fixtures: Debian's chromium driven by Playwright, and a real agent
server (`uvicorn app.main:app`, bubblewrap sandboxes, SQLite in a temp folder) that
also serves the UI from app/ui (UI_DIR), listening on 127.0.0.1 on a port the
kernel picks."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import httpx
import pytest
from auth_helpers import auth_headers, issue_token

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# Flags Debian's chromium needs as root in a container, plus quiet start-up.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
_LISTENING = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")


# Module scope: Playwright's sync API keeps an event loop running while it is open,
# which would break the asyncio tests of any suite collected after this one.
# (Package scope does not end with a directory that has no __init__.py.)
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def context(browser) -> Iterator[object]:
    """A fresh profile per test (own localStorage), downloads allowed."""
    ctx = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


class AgentServer:
    """`uvicorn app.main:app` in a child process, configured only by environment."""

    def __init__(self, workdir: Path, **env: str) -> None:
        self.workdir = workdir
        self.log_path = workdir / "agent-server.log"
        self.env = {
            **os.environ,
            "EXECUTION_MODE": "bwrap",
            "UI_DIR": str(ROOT / "app" / "ui"),
            "DATASETS_PATH": str(ROOT / "datasets"),
            "DATABASE_URL": f"sqlite:///{workdir}/corral.db",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        # An admin's API token in the server's database: the browser sends it on every
        # request (the UI's own sign-in page is tested with real sign-ins).
        self.token = issue_token(self.env["DATABASE_URL"])
        self.headers = auth_headers(self.token)

    def __enter__(self) -> Self:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
             "--port", "0", "--log-level", "info"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not self.url:
            match = _LISTENING.search(self.log_path.read_text(errors="replace"))
            if match:
                self.url = match.group(1)
            elif self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"the agent server did not start:\n{self.log()}")
            else:
                time.sleep(0.05)
        ready = httpx.get(f"{self.url}/readyz", timeout=30)
        assert ready.status_code == 200, f"agent server not ready: {ready.text}"
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture(scope="module")
def agent_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentServer]:
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed: apt-get install -y bubblewrap")
    with AgentServer(tmp_path_factory.mktemp("ui-agent")) as server:
        yield server

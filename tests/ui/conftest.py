"""Real-browser fixtures: Debian's chromium driven by Playwright, and a real agent
server (`uvicorn app.main:app`, bubblewrap sandboxes, SQLite in a temp folder) that
also serves the UI from app/ui (UI_DIR), listening on 127.0.0.1 on a port the
kernel picks."""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

import httpx
import pytest
from auth_helpers import auth_headers, issue_token

ROOT = Path(__file__).resolve().parents[2]
UI_DIR = ROOT / "app" / "ui"
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

    def __init__(self, workdir: Path, admin_token: bool = True, **env: str) -> None:
        self.workdir = workdir
        self.log_path = workdir / "agent-server.log"
        self.env = {
            **os.environ,
            "EXECUTION_MODE": "bwrap",
            "UI_DIR": str(UI_DIR),
            "DATASETS_PATH": str(ROOT / "datasets"),
            "DATABASE_URL": f"sqlite:///{workdir}/corral.db",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        # An admin's API token in the server's database, for requests made outside the
        # browser. admin_token=False leaves the database without any admin (the
        # first-admin setup page).
        self.token = issue_token(self.env["DATABASE_URL"]) if admin_token else ""
        self.headers = auth_headers(self.token) if admin_token else {}

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

    def corral(self, *args: str, stdin: str | None = None) -> str:
        """`corral ARGS` (app/cli.py) on this server's database; its stdout."""
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=self.env, input=stdin,
            capture_output=True, text=True, timeout=120, check=False,
        )
        assert done.returncode == 0, f"corral {' '.join(args)}: {done.stderr}"
        return done.stdout

    def add_user(self, username: str, password: str, role: str = "analyst") -> None:
        self.corral("users", "add", username, "--role", role, "--password-stdin",
                    stdin=password + "\n")

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


# The analyst the chat and chart pages sign in as (tests/ui/test_ui_auth.py signs in by hand).
ANALYST, ANALYST_PASSWORD = "ui-analyst", "ui-analyst-Corral-pass"


@pytest.fixture(scope="module")
def analyst_server(agent_server: AgentServer) -> AgentServer:
    agent_server.add_user(ANALYST, ANALYST_PASSWORD)
    return agent_server


@pytest.fixture()
def signed_in(context, analyst_server: AgentServer) -> None:
    """The test's browser context holds an analyst's session (POST /api/auth/login from
    the context itself, so the cookies are the browser's)."""
    from ui_helpers import sign_in_context

    sign_in_context(context, analyst_server.url, ANALYST, ANALYST_PASSWORD)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def static_url() -> Iterator[str]:
    """app/ui as plain static files (no agent server), for the module tests."""
    handler = functools.partial(_QuietHandler, directory=str(UI_DIR))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture()
def modules_page(context, static_url):
    """An empty page of the UI's origin: the modules load, app.js does not run.
    Script errors fail the test."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    blank = f"{static_url}/__modules_test__.html"
    page.route(blank, lambda route: route.fulfill(
        content_type="text/html", body="<!doctype html><title>modules</title><body></body>"))
    page.goto(blank)
    yield page
    assert errors == []

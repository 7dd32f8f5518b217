"""The UI image (corral/ui) in front of the agent-server image, as compose runs them:
both hardened (read-only root, no capabilities), on their own Docker network, the
agent starting one runner container per query through the Docker socket. A real
Chromium opens the UI through nginx (CSP and the /api proxy in the path)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from auth_helpers import auth_headers, container_token
from playwright.sync_api import expect
from ui_helpers import answers, number, open_app, read_csv, screenshot, table_of, wait_for_answers

pytestmark = pytest.mark.docker

UI_IMAGE = os.environ.get("UI_IMAGE", "corral/ui:latest")
AGENT_IMAGE = os.environ.get("AGENT_IMAGE", "corral/agent-server:latest")
RUNNER_IMAGE = os.environ.get("RUNNER_IMAGE", "corral/runner:latest")
DOCKER_SOCKET = os.environ.get("DOCKER_SOCKET", "/var/run/docker.sock")
HARDENING = ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]


def docker(*args: str, check: bool = True) -> str:
    done = subprocess.run(
        ["docker", *args], check=False, capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def succeeds(*args: str) -> bool:
    return subprocess.run(["docker", *args], check=False, capture_output=True).returncode == 0


def _missing_prerequisite() -> str | None:
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    if not succeeds("info"):
        return "the Docker daemon is not running"
    for image in (UI_IMAGE, AGENT_IMAGE, RUNNER_IMAGE):
        if not succeeds("image", "inspect", image):
            return f"image {image} is not built; run `make images`"
    if not os.path.exists(DOCKER_SOCKET):
        return f"no Docker socket at {DOCKER_SOCKET} (set DOCKER_SOCKET)"
    return None


@pytest.mark.parametrize(
    "env, message",
    [
        ("AGENT_URL=ftp://agent", "AGENT_URL must look like http://HOST:PORT"),
        ("AGENT_URL=http://agent:8000/api", "AGENT_URL must look like http://HOST:PORT"),
        ("LISTEN_PORT=80", "LISTEN_PORT must be a number from 1024 to 65535"),
        ("PROXY_TIMEOUT=soon", "PROXY_TIMEOUT must be a duration"),
        ("AGENT_RESOLVER=dns.example", "AGENT_RESOLVER must be auto, off or the IP"),
    ],
)
def test_bad_settings_stop_the_container_with_a_message_naming_them(env, message):
    if not succeeds("image", "inspect", UI_IMAGE):
        pytest.skip(f"image {UI_IMAGE} is not built; run `make images`")
    done = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "-e", env, UI_IMAGE],
        check=False, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert message in done.stderr


@dataclass
class Stack:
    suffix: str = field(default_factory=lambda: secrets.token_hex(4))
    containers: list[str] = field(default_factory=list)
    network: str = ""
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # the agent's test admin

    def logs(self) -> str:
        return "\n".join(
            f"--- {c}\n{docker('logs', '--tail', '40', c, check=False)}" for c in self.containers
        )


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    reason = _missing_prerequisite()
    if reason:
        pytest.skip(reason)
    s = Stack()
    s.network = f"corral-uitest-{s.suffix}"
    agent = f"corral-uitest-agent-{s.suffix}"
    ui = f"corral-uitest-ui-{s.suffix}"
    socket_gid = str(os.stat(DOCKER_SOCKET).st_gid)
    try:
        docker("network", "create", s.network)
        docker(
            "run", "-d", "--name", agent, "--network", s.network, "--network-alias",
            "agent-server", *HARDENING, "--tmpfs", "/tmp:size=64m",
            "--group-add", socket_gid, "-v", f"{DOCKER_SOCKET}:/var/run/docker.sock",
            "-e", "EXECUTION_MODE=docker", "-e", f"RUNNER_IMAGE={RUNNER_IMAGE}",
            "-e", "RUNNER_DATASETS_SOURCE=", "-e", "DATABASE_URL=sqlite:////tmp/corral.db",
            AGENT_IMAGE,
        )
        s.containers.append(agent)
        docker(
            "run", "-d", "--name", ui, "--network", s.network, *HARDENING,
            "--tmpfs", "/tmp:size=32m", "-e", "AGENT_URL=http://agent-server:8000",
            "-p", "127.0.0.1::8080", UI_IMAGE,
        )
        s.containers.append(ui)
        port = docker("port", ui, "8080/tcp").splitlines()[0].rsplit(":", 1)[1]
        s.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:  # ready when the agent answers through the UI's proxy
            try:
                if httpx.get(f"{s.url}/api/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the stack did not come up:\n{s.logs()}")
            time.sleep(0.5)
        s.headers = auth_headers(container_token(agent))
        yield s
    finally:
        for name in s.containers:
            docker("rm", "-f", name, check=False)
        if s.network:
            docker("network", "rm", s.network, check=False)


def test_ui_container_is_hardened_and_sends_security_headers(stack):
    ui = stack.containers[1]
    assert docker("exec", ui, "id", "-u") == "10001"
    assert succeeds("exec", ui, "corral-ui", "healthcheck")

    page = httpx.get(stack.url + "/")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    script = httpx.get(stack.url + "/app.js", headers={"Accept-Encoding": "gzip"})
    assert script.headers["content-type"].startswith(("application/javascript", "text/javascript"))
    assert script.headers.get("content-encoding") == "gzip"
    # /api/ reaches the agent server unchanged, with the same headers on top.
    api = httpx.get(stack.url + "/api/suggestions", headers=stack.headers)
    assert api.status_code == 200 and len(api.json()) == 3
    assert "content-security-policy" in api.headers
    too_big = httpx.post(stack.url + "/api/chat", content=b"x" * 400_000,
                         headers={"Content-Type": "application/json", **stack.headers})
    assert too_big.status_code == 413


@pytest.mark.browser
def test_chat_through_the_ui_container(context, stack):
    context.set_extra_http_headers(stack.headers)
    page = open_app(context, stack.url)
    csp_violations: list[str] = []
    page.on("console", lambda m: csp_violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    assert page.locator("#suggestions button.suggestion").count() == 3
    page.locator("#suggestions button.suggestion", has_text="penguin").click()
    wait_for_answers(page, 1)
    answer = answers(page).first
    assert answer.locator(".badge").inner_text().lower() == "ok"
    headers, rows = table_of(answer)
    mass = next(i for i, h in enumerate(headers) if "body_mass" in h)
    by_species = {r[0]: number(r[mass]) for r in rows}
    assert sorted(by_species) == ["Adelie", "Chinstrap", "Gentoo"]
    assert by_species["Gentoo"] == pytest.approx(5076, abs=1)
    with page.expect_download() as download_info:  # a blob: download under the CSP
        answer.get_by_role("button", name="Download CSV").click()
    table = read_csv(download_info.value.path())
    assert table[0] == headers and len(table) == 4
    screenshot(page, "ui-container-answer")
    assert csp_violations == [] and page.errors == []


@pytest.mark.browser
def test_agent_down_is_reported_readably(context, stack):
    """Runs last in this module: it stops the agent container."""
    docker("stop", "-t", "5", stack.containers[0])
    down = httpx.get(stack.url + "/api/datasets", headers=stack.headers, timeout=30)
    # 502 when the name no longer resolves, 504 while its old address is cached.
    assert down.status_code in (502, 504)
    detail = down.json()["detail"]
    assert detail.startswith("The agent server") and "check that it is running" in detail

    context.set_extra_http_headers(stack.headers)
    page = open_app(context, stack.url)
    expect(page.locator("#banner")).to_contain_text("check that it is running")
    page.locator("#ask-input").fill("How many penguins are there on each island?")
    page.locator("#ask-input").press("Enter")
    failure = page.locator("#messages .status-failed .error-box")
    expect(failure).to_contain_text("check that it is running")
    expect(failure.get_by_role("button", name="Try again")).to_be_visible()
    screenshot(page, "ui-container-agent-down")

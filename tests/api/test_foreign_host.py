"""A foreign Host or Origin as an attacker sends it (DNS rebinding, cross-site posts, port
and spelling tricks, raw requests no client library would send): refused before any
handler runs, so nothing is stored. CORS stays closed by default."""

from __future__ import annotations

import socket

import httpx
import pytest
from agent_server import RunningServer, server_settings

QUESTION = {"question": "weather tomorrow?"}  # not plannable: stored, no sandbox needed


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = server_settings(tmp_path_factory.mktemp("hosts"),
                               allowed_hosts="localhost,127.0.0.1,::1,.corral.example")
    with RunningServer(settings) as s:
        yield s


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=60) as c:
        yield c


def stored(client: httpx.Client) -> int:
    return int(client.get("/api/conversations").headers["x-total-count"])


def raw(server: RunningServer, request: bytes) -> tuple[int, bytes]:
    """Send bytes exactly as written; the status code and the whole answer."""
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


FOREIGN = [
    "evil.example",
    "evil.example:8000",
    "localhost.evil.example",
    "evil.example.localhost",
    "localhost:80@evil.example",
    "localhost:8000:80",
    "localhost:",
    "localhost :8000",
    "127.0.0.1.nip.io",
    "127.0.0.2",
    "2130706433",  # 127.0.0.1 as one number: a browser's spelling, not ours
    "[::2]",
    "[::1%25eth0]",
    "::1",  # unbracketed IPv6 is no Host
    "[::ffff:7f00:1]",
    "corral.example.evil.example",
    "xcorral.example",
    "",
    "ěvil.example",
]


@pytest.mark.parametrize("host", FOREIGN)
def test_a_foreign_host_is_421_and_nothing_is_stored(server, client, host):
    before = stored(client)
    status, answer = raw(server, b"POST /api/chat HTTP/1.1\r\nHost: " + host.encode()
                         + b"\r\nContent-Type: application/json\r\nContent-Length: 33\r\n"
                         b"Connection: close\r\n\r\n{\"question\": \"weather tomorrow?\"}")
    assert status == 421, answer
    assert b"ALLOWED_HOSTS" in answer
    assert stored(client) == before


def test_the_421_names_the_refused_host(client):
    response = client.get("/api/datasets", headers={"Host": "Evil.Example:8000"})
    assert response.status_code == 421
    detail = response.json()["detail"]
    assert "'evil.example'" in detail and "add it to ALLOWED_HOSTS" in detail


@pytest.mark.parametrize("host", [
    "localhost", "LOCALHOST:8000", "localhost.", "127.0.0.1:1", "[::1]", "[::1]:8000",
    "[0:0:0:0:0:0:0:1]", "corral.example", "a.b.corral.example", "CORRAL.example.:443",
])
def test_allowed_spellings_are_served(client, host):
    response = client.get("/api/datasets", headers={"Host": host})
    assert response.status_code == 200, response.text


def test_two_host_headers_are_421_even_if_one_is_ours(server, client):
    before = stored(client)
    for pair in (b"Host: localhost\r\nHost: evil.example", b"Host: evil.example\r\nHost: localhost",
                 b"Host: localhost\r\nHost: localhost"):
        status, answer = raw(server, b"POST /api/chat HTTP/1.1\r\n" + pair + b"\r\nContent-Type:"
                             b" application/json\r\nContent-Length: 33\r\nConnection: close\r\n"
                             b"\r\n{\"question\": \"weather tomorrow?\"}")
        assert status in (400, 421), answer  # 400: uvicorn's parser refuses it first
        # (test_host_parsing.py shows the middleware refusing what another parser passes)
    assert stored(client) == before


def test_no_host_header_is_421(server):
    status, answer = raw(server, b"GET /api/datasets HTTP/1.0\r\n\r\n")
    assert status == 421 and b"no Host header" in answer


def test_an_absolute_form_target_is_checked_by_its_own_authority(server):
    status, answer = raw(server, b"GET http://evil.example/api/datasets HTTP/1.1\r\n"
                         b"Host: localhost\r\nConnection: close\r\n\r\n")
    assert status == 421 and b"evil.example" in answer


def test_an_absolute_form_target_does_not_smuggle_a_foreign_host_header(server):
    # The authority (ours) passes the check, but the app builds its URLs (OIDC
    # redirect_uri, base_url) from Host: such a request must reach no handler. (h11
    # keeps the whole URL as the path: 404; httptools passes the path: Host is checked.)
    status, answer = raw(server, b"GET http://localhost/api/auth/config HTTP/1.1\r\n"
                         b"Host: evil.example\r\nConnection: close\r\n\r\n")
    assert status in (404, 421), answer
    assert b"setup_required" not in answer


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_any_host(client, path):
    # Kubernetes probes address the pod IP; these answers carry no user data.
    assert client.get(path, headers={"Host": "10.42.0.17:8000"}).status_code in (200, 503)


def test_api_readyz_is_not_exempt(client):
    assert client.get("/api/readyz", headers={"Host": "evil.example"}).status_code == 421


def test_a_post_from_a_foreign_origin_is_403_and_nothing_is_stored(client):
    before = stored(client)
    for origin in ("http://evil.example", "null", "http://localhost.evil.example",
                   "http://127.0.0.1:1", "file://", "http://127.0.0.1@evil.example"):
        response = client.post("/api/chat", json=QUESTION, headers={"Origin": origin})
        assert response.status_code == 403, origin
        assert "CORS_ORIGINS" in response.json()["detail"]
    assert stored(client) == before


def test_a_post_from_our_own_origin_is_served(server, client):
    response = client.post("/api/chat", json=QUESTION, headers={"Origin": server.url})
    assert response.status_code == 200, response.text


def test_cors_is_closed_by_default(client):
    preflight = client.options("/api/chat", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert not any(h.startswith("access-control-") for h in preflight.headers)
    simple = client.get("/api/datasets", headers={"Origin": "http://evil.example"})
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers


def test_the_server_started_from_the_environment_reads_allowed_hosts(tmp_path):
    """`uvicorn app.main:app` (the images, venv installs): settings come from the
    environment at start-up, after the middleware was built."""
    import os
    import subprocess
    import sys
    import time

    from agent_server import ROOT
    from ports import free_port

    port = free_port()
    env = {**os.environ, "ALLOWED_HOSTS": "corral.example", "EXECUTION_MODE": "bwrap",
           "WARM_POOL_SIZE": "0", "DATASETS_PATH": str(ROOT / "datasets"),
           "DATABASE_URL": f"sqlite:///{tmp_path}/c.db"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:app", "--host",
                             "127.0.0.1", "--port", str(port), "--no-proxy-headers"],
                            cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            assert proc.poll() is None, "the server exited"
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert httpx.get(f"{url}/api/auth/config", timeout=30).status_code == 421
        named = httpx.get(f"{url}/api/auth/config", headers={"Host": "corral.example"},
                          timeout=30)
        assert named.status_code == 200, named.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)

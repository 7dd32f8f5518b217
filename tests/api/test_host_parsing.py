"""The Host header and forwarded headers as the middleware reads them, including requests
the HTTP server in the tests refuses itself (two Host headers) but another might pass on."""

from __future__ import annotations

import asyncio

import pytest

from app.api.hosts import HostAllowList
from app.auth.proxy import TRUSTED, apply_forwarded, forwarded_client
from app.hostnames import address_in, host_of, parse_networks
from app.settings import load_settings


@pytest.mark.parametrize(("value", "host"), [
    ("localhost", "localhost"), ("LocalHost.:8000", "localhost"), ("[::1]:443", "::1"),
    ("[0:0::1]", "::1"), ("127.0.0.1:1", "127.0.0.1"), ("a_b.example", "a_b.example"),
    ("", None), (":80", None), ("localhost:", None), ("localhost:123456", None),
    ("localhost:80:80", None), ("local host", None), ("localhost\t", None), ("::1", None),
    ("[::1", None), ("[::1]x", None), ("[::1]:x", None), ("[fe80::1%eth0]", None),
    ("user@localhost", None), ("localhost/x", None), ("l\u00f6calhost", None),
    ("-localhost", None), ("localhost..", None), (".", None), ("a" * 64 + ".example", None),
])
def test_host_of(value, host):
    assert host_of(value) == host


def call(middleware, scope):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    return sent


def http_scope(headers, path="/api/datasets", method="GET", client=("127.0.0.1", 5000)):
    return {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
            "headers": headers, "client": client, "scheme": "http", "query_string": b"",
            "server": ("127.0.0.1", 8000), "app": None}


@pytest.mark.parametrize("headers", [
    [(b"host", b"localhost"), (b"host", b"evil.example")],
    [(b"host", b"evil.example"), (b"host", b"localhost")],
    [(b"host", b"localhost"), (b"host", b"localhost")],
])
def test_two_host_headers_never_reach_the_app(headers):
    reached = []

    async def app(scope, receive, send):
        reached.append(scope)

    sent = call(HostAllowList(app, load_settings()), http_scope(headers))
    assert not reached
    assert sent[0]["status"] == 421
    assert b"more than one Host header" in sent[1]["body"]


PROXIES = parse_networks("10.0.0.0/8,fd00::/8")


def test_forwarded_headers_from_an_untrusted_peer_are_ignored():
    scope = apply_forwarded(http_scope([(b"x-forwarded-proto", b"https"),
                                        (b"x-forwarded-for", b"10.0.0.1")],
                                       client=("203.0.113.9", 5000)), PROXIES)
    assert scope[TRUSTED] is False
    assert scope["scheme"] == "http" and scope["client"] == ("203.0.113.9", 5000)


def test_forwarded_headers_from_a_trusted_proxy_are_applied():
    scope = apply_forwarded(http_scope([(b"x-forwarded-proto", b"https"),
                                        (b"x-forwarded-for", b"6.6.6.6, 198.51.100.4, 10.1.1.1")],
                                       client=("10.0.0.7", 5000)), PROXIES)
    assert scope[TRUSTED] is True
    assert scope["scheme"] == "https"
    # the client could write anything left of what the proxies appended
    assert scope["client"][0] == "198.51.100.4"


def test_a_strange_forwarded_proto_changes_nothing():
    scope = apply_forwarded(http_scope([(b"x-forwarded-proto", b"gopher")],
                                       client=("10.0.0.7", 1)), PROXIES)
    assert scope["scheme"] == "http"


def test_forwarded_client_and_address_in():
    assert forwarded_client("10.0.0.1, 10.0.0.2", PROXIES) is None
    assert address_in("::ffff:10.0.0.1", PROXIES)
    assert address_in("fd00::5", PROXIES)
    assert not address_in("11.0.0.1", PROXIES)
    assert not address_in("not-an-ip", PROXIES)
    assert not address_in(None, PROXIES)

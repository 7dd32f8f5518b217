"""Verify roles/reverse_proxy from outside the instance: redirect, TLS, headers, upstream."""

import http.client
import ssl

import pytest

testinfra_hosts = ["all"]


@pytest.fixture(scope="module")
def address(host):
    return host.interface("eth0").addresses[0]


@pytest.fixture(scope="module")
def expected_name(host):
    return "provided.corral.test" if "provided" in host.backend.get_hostname() else "corral.test"


def https(address):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # self-signed on purpose; the subject is checked below
    return http.client.HTTPSConnection(address, 443, timeout=10, context=context)


def test_http_redirects_to_https(address):
    conn = http.client.HTTPConnection(address, 80, timeout=10)
    conn.request("GET", "/chat?x=1", headers={"Host": "corral.test"})
    answer = conn.getresponse()
    assert answer.status == 301
    assert answer.getheader("Location") == "https://corral.test/chat?x=1"


def test_https_serves_the_upstream_with_security_headers(address):
    conn = https(address)
    conn.request("GET", "/")
    answer = conn.getresponse()
    assert answer.status == 200
    assert b"corral ui" in answer.read()
    assert answer.getheader("Strict-Transport-Security").startswith("max-age=31536000")
    assert "frame-ancestors 'none'" in answer.getheader("Content-Security-Policy")
    assert answer.getheader("X-Content-Type-Options") == "nosniff"
    assert answer.getheader("Referrer-Policy") == "strict-origin-when-cross-origin"
    assert "nginx/" not in (answer.getheader("Server") or "")


def test_the_agents_metrics_are_not_served_to_the_network(address):
    conn = https(address)
    conn.request("GET", "/metrics")
    answer = conn.getresponse()
    assert answer.status == 404
    assert b"corral_runs_total" not in answer.read()


def test_certificate_names_the_server(address, expected_name):
    conn = https(address)
    conn.connect()
    der = conn.sock.getpeercert(binary_form=True)
    conn.close()
    assert expected_name.encode() in der


def test_key_is_private_and_cert_readable(host):
    key = host.file("/etc/ssl/corral/privkey.pem")
    assert key.user == "root" and key.mode == 0o600
    assert host.file("/etc/ssl/corral/fullchain.pem").mode == 0o644
    assert host.file("/etc/ssl/corral").mode == 0o700


def test_nginx_enabled_and_default_site_gone(host):
    assert host.service("nginx").is_running and host.service("nginx").is_enabled
    assert not host.file("/etc/nginx/sites-enabled/default").exists

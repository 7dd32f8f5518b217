"""Verify roles/netns: the app inside the namespace is reachable only through the forward."""

import socket

import pytest

testinfra_hosts = ["all"]


@pytest.fixture(scope="module")
def app(host):
    """A stand-in app listening on all addresses inside the namespace."""
    host.run("mkdir -p /srv/app && echo corral-in-netns > /srv/app/index.html")
    host.run(
        "cd /srv/app && nohup ip netns exec corral python3 -m http.server 8080 >/dev/null 2>&1 &"
    )
    host.run(
        "for i in $(seq 50); do ip netns exec corral ss -ltn | grep -q ':8080 ' && break; "
        "sleep 0.1; done"
    )
    yield
    host.run("pkill -f 'http.server 8080'")


def test_app_answers_through_the_published_port(host, app):
    page = host.check_output("python3 -c \"import urllib.request as u; "
                             "print(u.urlopen('http://127.0.0.1:8080/', timeout=5).read().decode())\"")
    assert "corral-in-netns" in page


def test_forward_listens_on_loopback_only(host, app):
    address = host.interface("eth0").addresses[0]
    with pytest.raises(OSError):
        socket.create_connection((address, 8080), timeout=2).close()
    assert host.socket("tcp://127.0.0.1:8080").is_listening
    assert host.service("corral-netns-forward").is_running


def test_namespace_has_no_way_out(host):
    routes = host.check_output("ip -n corral route")
    assert "default" not in routes and "10.200.0.0/30" in routes
    probe = host.run(
        "ip netns exec corral python3 -c \"import socket; "
        "socket.create_connection(('1.1.1.1', 80), timeout=2)\""
    )
    assert probe.rc != 0 and "Network is unreachable" in probe.stderr


def test_namespace_is_recreated_at_boot(host):
    assert host.service("corral-netns").is_enabled
    script = host.file("/usr/local/sbin/corral-netns-up")
    assert script.user == "root" and script.mode == 0o755

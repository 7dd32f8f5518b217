"""Verify roles/hardening: firewall (probed from outside), sshd, fail2ban, upgrades, sysctl."""

import socket

import pytest

testinfra_hosts = ["all"]


@pytest.fixture(scope="module")
def listeners(host):
    """Two listeners inside the instance: 443 (allowed) and 9999 (not allowed)."""
    for port in (443, 9999):
        host.run(f"nohup python3 -m http.server {port} >/dev/null 2>&1 &")
    host.run("for i in $(seq 50); do ss -ltn | grep -q ':9999 ' && break; sleep 0.1; done")
    address = host.interface("eth0").addresses[0]
    yield address
    host.run("pkill -f 'http.server 443'; pkill -f 'http.server 9999'")


def connects(address, port):
    try:
        with socket.create_connection((address, port), timeout=2):
            return True
    except OSError:
        return False


def test_allowed_port_answers_from_outside(listeners):
    assert connects(listeners, 443)


def test_other_ports_are_dropped_from_outside(listeners):
    assert not connects(listeners, 9999)


def test_firewall_table_has_ssh_and_published_ports(host):
    rules = host.check_output("nft list table inet corral")
    assert "policy drop" in rules
    assert "tcp dport 22 accept" in rules and "tcp dport 443 accept" in rules
    rules_file = host.file("/etc/nftables.d/corral.nft")
    assert rules_file.user == "root" and rules_file.mode == 0o600
    assert host.service("corral-firewall").is_enabled


def test_sshd_refuses_passwords_and_root_passwords(host):
    effective = host.check_output("sshd -T")
    assert "passwordauthentication no" in effective
    assert "kbdinteractiveauthentication no" in effective
    assert "permitrootlogin without-password" in effective
    assert "maxauthtries 3" in effective
    assert host.service("ssh").is_running


def test_fail2ban_watches_sshd(host):
    assert host.service("fail2ban").is_running
    status = host.check_output("fail2ban-client status sshd")
    assert "Status for the jail: sshd" in status


def test_unattended_upgrades_enabled(host):
    conf = host.file("/etc/apt/apt.conf.d/20auto-upgrades")
    assert 'APT::Periodic::Unattended-Upgrade "1";' in conf.content_string
    assert host.package("unattended-upgrades").is_installed


def test_sysctl_settings_persisted(host):
    conf = host.file("/etc/sysctl.d/90-corral.conf").content_string
    assert "kernel.kptr_restrict=2" in conf
    assert "net.ipv4.conf.all.rp_filter=1" in conf

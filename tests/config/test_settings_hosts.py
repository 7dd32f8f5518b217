"""ALLOWED_HOSTS, TRUSTED_PROXIES, the proxy headers and the per-user limits: a bad value
stops the server with a message naming the variable and the entry at fault."""

from __future__ import annotations

import pytest

from app.settings import SettingsError, load_settings

BAD = {
    "ALLOWED_HOSTS": ["", " , ", "*", "http://corral.example", "corral.example:8000",
                      "*.corral.example", "corral example", "[::1", "..example", ".::1"],
    "TRUSTED_PROXIES": ["10.0.0.1/33", "proxy.example", "10.0.0.0/8,nope", "*"],
    "AUTH_PROXY_USER_HEADER": ["", "X Forwarded User", "X-User:"],
    "AUTH_PROXY_GROUPS_HEADER": ["", "Groups\n"],
    "USER_RUNS_PER_MINUTE": ["0", "many"],
    "USER_MAX_SANDBOXES": ["0", "-1"],
}


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, vs in BAD.items() for v in vs])
def test_bad_value_names_the_variable(name, value, monkeypatch):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as exc:
        load_settings()
    assert name in str(exc.value)


def test_the_message_names_the_entry_at_fault(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", "localhost,http://corral.example")
    with pytest.raises(SettingsError, match="ALLOWED_HOSTS.*'http://corral.example'"):
        load_settings()
    monkeypatch.setenv("ALLOWED_HOSTS", "localhost")
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, proxy.example")
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES.*'proxy.example'"):
        load_settings()


def test_defaults(monkeypatch):
    for name in BAD:
        monkeypatch.delenv(name, raising=False)
    s = load_settings()
    assert [r.name for r in s.allowed_host_rules] == ["localhost", "127.0.0.1", "::1"]
    assert s.trusted_proxy_networks == ()
    assert (s.user_runs_per_minute, s.user_max_sandboxes) == (30, 2)
    assert s.cors_origins == "" and s.cors_origin_set == set()


def test_spellings_are_normalised(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", " Corral.Example. ,[::1], .Corp.Example ,10.0.0.5")
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7 ,fd00::/8")
    s = load_settings()
    assert [(r.name, r.subdomains) for r in s.allowed_host_rules] == [
        ("corral.example", False), ("::1", False), ("corp.example", True), ("10.0.0.5", False)]
    assert [str(n) for n in s.trusted_proxy_networks] == ["10.0.0.0/8", "192.168.1.7/32",
                                                         "fd00::/8"]

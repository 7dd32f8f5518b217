"""Identity from an authenticating proxy's header, as an attacker would try it: the header
(and X-Forwarded-Proto) from a peer outside TRUSTED_PROXIES is ignored; from a trusted
proxy it signs the user in, with the role its groups give, and only within ALLOWED_GROUPS."""

from __future__ import annotations

import httpx
import pytest
from agent_server import RunningServer, server_settings

PASSWORD = "correct horse battery"


def serve(tmp_path_factory, name, **overrides):
    settings = server_settings(tmp_path_factory.mktemp(name), warm_pool_size=0, **overrides)
    return RunningServer(settings)


@pytest.fixture(scope="module")
def trusted(tmp_path_factory):
    """The test client (127.0.0.1) is the trusted proxy."""
    with serve(tmp_path_factory, "trusted", auth_mode="local,proxy", trusted_proxies="127.0.0.1",
               admin_groups="corral-admins", allowed_groups="corral-users,corral-admins") as s:
        yield s


@pytest.fixture(scope="module")
def untrusted(tmp_path_factory):
    """Proxy mode on, but the trusted proxy is somebody else: the test client is not it."""
    with serve(tmp_path_factory, "untrusted", auth_mode="local,proxy",
               trusted_proxies="10.9.9.9/32") as s:
        yield s


def me(server: RunningServer, **headers: str) -> httpx.Response:
    return httpx.get(f"{server.url}/api/auth/me", headers=headers, timeout=30)


def user_row(server: RunningServer, username: str) -> dict | None:
    users = httpx.get(f"{server.url}/api/admin/users", headers=server.headers, timeout=30)
    assert users.status_code == 200, users.text
    return next((u for u in users.json() if u["username"] == username), None)


def test_the_header_from_an_untrusted_peer_is_ignored(untrusted):
    answer = me(untrusted, **{"X-Forwarded-User": "mallory",
                              "X-Forwarded-Groups": "corral-admins",
                              "X-Forwarded-For": "10.9.9.9"})  # posing as the proxy
    assert answer.status_code == 401
    assert answer.json()["detail"] == "Sign in first"
    assert user_row(untrusted, "mallory") is None  # nothing created
    chat = httpx.post(f"{untrusted.url}/api/chat", json={"question": "weather?"}, timeout=30,
                      headers={"X-Forwarded-User": "tester"})  # the admin's name
    assert chat.status_code == 401


def test_the_header_is_ignored_without_proxy_in_auth_mode(tmp_path_factory):
    with serve(tmp_path_factory, "local-only", trusted_proxies="127.0.0.1") as s:
        assert me(s, **{"X-Forwarded-User": "mallory"}).status_code == 401


def test_a_trusted_proxy_signs_the_user_in_on_first_sight(trusted):
    answer = me(trusted, **{"X-Forwarded-User": "carol", "X-Forwarded-Groups": "corral-users"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["username"], body["role"], body["source"]) == ("carol", "analyst", "proxy")
    assert body["csrf_token"] is None
    row = user_row(trusted, "carol")
    assert row and row["source"] == "proxy" and row["role"] == "analyst"


def test_admin_groups_give_the_admin_role_and_losing_them_takes_it(trusted):
    as_admin = me(trusted, **{"X-Forwarded-User": "dave",
                              "X-Forwarded-Groups": "corral-users, corral-admins"})
    assert as_admin.json()["role"] == "admin"
    later = me(trusted, **{"X-Forwarded-User": "dave", "X-Forwarded-Groups": "corral-users"})
    assert later.json()["role"] == "analyst"


@pytest.mark.parametrize("groups", [None, "", "staff", "corral-users-old"])
def test_outside_allowed_groups_is_refused(trusted, groups):
    headers = {"X-Forwarded-User": "erin"}
    if groups is not None:
        headers["X-Forwarded-Groups"] = groups
    assert me(trusted, **headers).status_code == 401
    assert user_row(trusted, "erin") is None


@pytest.mark.parametrize("name", ["", "a b", "../admin", "x" * 65, "é"])
def test_an_invalid_name_is_refused(trusted, name):
    answer = me(trusted, **{"X-Forwarded-User": name.encode(),  # raw bytes, as sent
                            "X-Forwarded-Groups": "corral-users"})
    assert answer.status_code == 401


def test_a_proxy_cannot_take_over_a_local_account(trusted):
    # "tester" is the local admin the test server was given
    answer = me(trusted, **{"X-Forwarded-User": "tester", "X-Forwarded-Groups": "corral-admins"})
    assert answer.status_code == 401


def test_a_disabled_proxy_user_is_refused(trusted):
    headers = {"X-Forwarded-User": "frank", "X-Forwarded-Groups": "corral-users"}
    assert me(trusted, **headers).status_code == 200
    row = user_row(trusted, "frank")
    patched = httpx.patch(f"{trusted.url}/api/admin/users/{row['id']}", json={"disabled": True},
                          headers=trusted.headers, timeout=30)
    assert patched.status_code == 200, patched.text
    assert me(trusted, **headers).status_code == 401


def test_a_bearer_token_wins_over_the_proxy_header(trusted):
    answer = me(trusted, **{**trusted.headers, "X-Forwarded-User": "carol",
                            "X-Forwarded-Groups": "corral-users"})
    assert answer.json()["username"] == "tester"


def add_local_user(server: RunningServer, name: str) -> None:
    made = httpx.post(f"{server.url}/api/admin/users", headers=server.headers, timeout=30,
                      json={"username": name, "role": "analyst", "password": PASSWORD})
    assert made.status_code == 201, made.text


def login_cookie(server: RunningServer, name: str, **headers: str) -> str:
    answer = httpx.post(f"{server.url}/api/auth/login", headers=headers, timeout=30,
                        json={"username": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return next(c for c in answer.headers.get_list("set-cookie")
                if c.startswith("corral_session="))


def test_a_spoofed_forwarded_proto_from_an_untrusted_peer_is_ignored(untrusted):
    add_local_user(untrusted, "grace")
    cookie = login_cookie(untrusted, "grace", **{"X-Forwarded-Proto": "https"})
    assert "secure" not in cookie.lower()  # COOKIE_SECURE=auto saw plain http


def test_forwarded_proto_from_a_trusted_proxy_makes_cookies_secure(trusted):
    add_local_user(trusted, "heidi")
    assert "secure" not in login_cookie(trusted, "heidi").lower()
    cookie = login_cookie(trusted, "heidi", **{"X-Forwarded-Proto": "https"})
    assert "; secure" in cookie.lower()


def test_proxy_mode_without_trusted_proxies_does_not_start(tmp_path):
    from app.settings import SettingsError

    with pytest.raises(SettingsError, match="AUTH_MODE.*TRUSTED_PROXIES"):
        server_settings(tmp_path, auth_mode="proxy")

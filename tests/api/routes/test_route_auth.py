"""/api/auth as a browser and an attacker see it: sign-in with one answer for every
failure, lockout with Retry-After, cookies, CSRF and Origin checks, sign-out, idle
expiry, and 401 versus 403."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from agent_server import RunningServer, server_settings
from identity_helpers import PASSWORD, add_user, set_past, sign_in

from app.auth.lockout import MAX_LOCKOUT_S, NAME_WIDE_FACTOR, lockout_s
from app.auth.lockout import key as lockout_key
from app.auth.sessions import hash_id

INVALID = {"detail": "Invalid or expired credentials"}
CSRF = {"detail": "CSRF token missing or wrong; reload the page"}


def login(server: RunningServer, username: str, password: str) -> httpx.Response:
    return httpx.post(f"{server.url}/api/auth/login",
                      json={"username": username, "password": password}, timeout=60)


def test_config_is_public_and_says_which_modes(auth_server):
    answer = httpx.get(f"{auth_server.url}/api/auth/config")
    assert answer.json() == {"modes": ["local"], "setup_required": False,
                             "oidc_login_url": None}


def test_without_credentials_401_says_sign_in_first(auth_server):
    for path in ("/api/auth/me", "/api/conversations", "/api/datasets", "/api/admin/audit"):
        answer = httpx.get(auth_server.url + path)
        assert answer.status_code == 401, path
        assert answer.json() == {"detail": "Sign in first"}
        assert answer.headers["www-authenticate"] == "Bearer"
    assert httpx.post(f"{auth_server.url}/api/query",
                      json={"language": "sql", "code": "SELECT 1"}).status_code == 401


def test_unknown_user_wrong_password_and_disabled_get_one_answer(auth_server, admin):
    user = add_user(admin, "dora")
    admin.patch(f"/api/admin/users/{user['id']}", json={"disabled": True})
    add_user(admin, "erin")
    answers = [login(auth_server, "nobody-here", PASSWORD),
               login(auth_server, "erin", PASSWORD + "x"),
               login(auth_server, "dora", PASSWORD)]  # right password, disabled
    for answer in answers:
        assert answer.status_code == 401
        assert answer.json() == INVALID
        assert "set-cookie" not in answer.headers


def test_login_sets_the_session_and_csrf_cookies(auth_server, admin):
    add_user(admin, "fay")
    answer = login(auth_server, "fay", PASSWORD)
    assert answer.status_code == 200, answer.text
    me = answer.json()
    assert (me["username"], me["role"], me["source"]) == ("fay", "analyst", "local")
    cookies = {c.split("=", 1)[0]: c.lower() for c in answer.headers.get_list("set-cookie")}
    session, csrf = cookies["corral_session"], cookies["corral_csrf"]
    assert "httponly" in session and "samesite=lax" in session and "path=/" in session
    assert "httponly" not in csrf and "samesite=strict" in csrf
    assert "secure" not in session  # COOKIE_SECURE=auto over plain http
    assert answer.cookies["corral_csrf"] == me["csrf_token"]


def test_a_session_needs_its_csrf_token_to_change_anything(auth_server, admin):
    add_user(admin, "gus")
    with sign_in(auth_server, "gus") as browser:
        token = browser.headers.pop("X-CSRF-Token")
        assert browser.get("/api/conversations").status_code == 200  # reading needs none
        ask = {"question": "What is the weather?"}
        missing = browser.post("/api/chat", json=ask)
        wrong = browser.post("/api/chat", json=ask, headers={"X-CSRF-Token": token[:-2] + "xx"})
        assert (missing.status_code, missing.json()) == (403, CSRF)
        assert (wrong.status_code, wrong.json()) == (403, CSRF)
        assert browser.get("/api/conversations").json() == []  # nothing was stored
        right = browser.post("/api/chat", json=ask, headers={"X-CSRF-Token": token})
        assert right.status_code == 200, right.text


def test_a_cookie_post_from_another_origin_is_refused(auth_server, admin):
    add_user(admin, "hal")
    with sign_in(auth_server, "hal") as browser:
        ask = {"question": "What is the weather?"}
        evil = browser.post("/api/chat", json=ask, headers={"Origin": "https://evil.example"})
        assert evil.status_code == 403
        assert "Origin" in evil.json()["detail"]
        same = browser.post("/api/chat", json=ask, headers={"Origin": auth_server.url})
        assert same.status_code == 200, same.text
    cross_login = httpx.post(f"{auth_server.url}/api/auth/login",
                             json={"username": "hal", "password": PASSWORD},
                             headers={"Origin": "https://evil.example"})
    assert cross_login.status_code == 403


@pytest.mark.parametrize("origin", ["http://[::1", "http://[zz]:1", "http://[127.0.0.1]"])
def test_a_malformed_origin_is_refused_not_a_server_error(auth_server, origin):
    # Before: the Host/Origin middleware raised on these, so anyone could make any POST
    # answer 500 (and fill the log with tracebacks) without signing in.
    answer = httpx.post(f"{auth_server.url}/api/auth/login",
                        json={"username": "nobody", "password": PASSWORD},
                        headers={"Origin": origin}, timeout=60)
    assert answer.status_code == 403, answer.text
    assert "Origin" in answer.json()["detail"]


def test_a_non_ascii_csrf_header_is_refused_not_a_server_error(auth_server, admin):
    add_user(admin, "ike")
    with sign_in(auth_server, "ike") as browser:
        browser.headers.pop("X-CSRF-Token")
        # Before: hmac.compare_digest raised TypeError on non-ASCII text: a 500.
        answer = browser.post("/api/auth/logout", headers=[(b"X-CSRF-Token", b"\xe9t\xe9")])
        assert (answer.status_code, answer.json()) == (403, CSRF)
        assert browser.get("/api/auth/me").status_code == 200  # still signed in


def test_no_method_trick_skips_the_csrf_check(auth_server, admin):
    add_user(admin, "ivy")
    with sign_in(auth_server, "ivy") as browser:
        browser.headers.pop("X-CSRF-Token")
        made = admin.post("/api/tokens", json={"name": "x", "username": "ivy"}).json()
        for method in ("HEAD", "OPTIONS", "GET"):
            answer = browser.request(method, f"/api/tokens/{made['id']}",
                                     headers={"X-HTTP-Method-Override": "DELETE"})
            assert answer.status_code == 405, (method, answer.status_code)
        overridden = browser.post("/api/auth/logout?_method=GET",
                                  headers={"X-HTTP-Method-Override": "GET"})
        assert (overridden.status_code, overridden.json()) == (403, CSRF)
        assert browser.get("/api/auth/me").status_code == 200
        assert [t["revoked_at"] for t in browser.get("/api/tokens").json()] == [None]


def test_logout_needs_csrf_then_ends_the_session(auth_server, admin):
    add_user(admin, "ida")
    with sign_in(auth_server, "ida") as browser:
        token = browser.headers.pop("X-CSRF-Token")
        assert browser.post("/api/auth/logout").status_code == 403
        out = browser.post("/api/auth/logout", headers={"X-CSRF-Token": token})
        assert out.status_code == 200 and out.json() == {"redirect": None}
        assert browser.cookies.get("corral_session") is None  # the server cleared it
    stale = httpx.get(f"{auth_server.url}/api/auth/me",
                      cookies={"corral_session": out.request.headers["cookie"]
                               .split("corral_session=")[1].split(";")[0]})
    assert (stale.status_code, stale.json()) == (401, INVALID)


def test_forged_session_cookie_is_401(auth_server):
    answer = httpx.get(f"{auth_server.url}/api/auth/me", cookies={"corral_session": "forged"})
    assert (answer.status_code, answer.json()) == (401, INVALID)


def test_a_session_past_its_expiry_is_refused(auth_server, admin):
    add_user(admin, "jon")
    with sign_in(auth_server, "jon") as browser:
        assert browser.get("/api/auth/me").status_code == 200
        set_past(auth_server, "sessions", "expires_at", "id_hash",
                 hash_id(browser.cookies["corral_session"]))
        assert browser.get("/api/auth/me").status_code == 401


def test_lockout_then_back_off(auth_server, admin):
    """LOGIN_MAX_FAILURES=3, LOGIN_LOCKOUT_S=600 on this server; each lockout is ended by
    moving it into the past in the database, not by waiting (no timing in tests)."""
    add_user(admin, "kim")

    def end_lockout() -> None:
        set_past(auth_server, "login_failures", "locked_until", "key", lockout_key("kim", "127.0.0.1"))

    for _ in range(3):
        assert login(auth_server, "kim", "wrong password!").status_code == 401
    locked = login(auth_server, "kim", PASSWORD)  # even the right password waits
    assert locked.status_code == 429
    assert 590 <= int(locked.headers["retry-after"]) <= 600
    assert "LOGIN_MAX_FAILURES=3" in locked.json()["detail"]
    end_lockout()
    assert login(auth_server, "kim", "wrong password!").status_code == 401
    again = login(auth_server, "kim", PASSWORD)
    assert again.status_code == 429 and 1190 <= int(again.headers["retry-after"]) <= 1200  # doubled
    end_lockout()
    assert login(auth_server, "kim", PASSWORD).status_code == 200  # and the count is reset:
    for _ in range(2):
        assert login(auth_server, "kim", "wrong password!").status_code == 401
    assert login(auth_server, "kim", PASSWORD).status_code == 200


def test_concurrent_guesses_get_no_more_tries_than_sequential_ones(tmp_path):
    # Before: every guess checked the lockout, then spent its argon2 time, then
    # counted; guesses sent at once all passed the check, so an attacker got several
    # times LOGIN_MAX_FAILURES tries per lockout.
    settings = server_settings(tmp_path, warm_pool_size=0, login_max_failures=3,
                               login_lockout_s=600)
    with RunningServer(settings) as server, \
            httpx.Client(base_url=server.url, headers=server.headers) as root:
        add_user(root, "lou")
        with ThreadPoolExecutor(20) as pool:
            codes = list(pool.map(lambda n: login(server, "lou", f"guess number {n}").status_code,
                                  range(20)))
        assert (codes.count(401), codes.count(429)) == (3, 17), codes
        assert login(server, "lou", PASSWORD).status_code == 429


def test_spellings_of_a_locked_name_are_locked_too(tmp_path):
    settings = server_settings(tmp_path, warm_pool_size=0, login_max_failures=3,
                               login_lockout_s=600)
    with RunningServer(settings) as server, \
            httpx.Client(base_url=server.url, headers=server.headers) as root:
        add_user(root, "kai")
        # Other case, surrounding space, and the Kelvin sign (U+212A, lower-cases to "k").
        spellings = ["KAI", " kai", "kai ", "Kai\t", "\u212aai"]
        for attempt in range(3):
            assert login(server, spellings[attempt], "wrong password!").status_code == 401
        answers = [login(server, name, PASSWORD).status_code for name in spellings]
        assert answers == [429] * len(spellings)


def test_a_stranger_locks_out_only_their_own_address_until_many_addresses_guess(tmp_path):
    """Guessing from one address must not lock the owner out from theirs; guesses spread
    over many addresses still lock the name (NAME_WIDE_FACTOR x LOGIN_MAX_FAILURES). The
    test stands where a trusted reverse proxy would, reporting each client's address."""
    settings = server_settings(tmp_path, warm_pool_size=0, login_max_failures=2,
                               login_lockout_s=600, trusted_proxies="127.0.0.1/32")
    with RunningServer(settings) as server, \
            httpx.Client(base_url=server.url, headers=server.headers) as root:
        add_user(root, "ned")

        def login_from(address: str, password: str) -> int:
            return httpx.post(f"{server.url}/api/auth/login", timeout=60,
                              json={"username": "ned", "password": password},
                              headers={"X-Forwarded-For": address}).status_code

        assert [login_from("203.0.113.9", "wrong password!") for _ in range(3)] == [401, 401, 429]
        assert login_from("198.51.100.7", PASSWORD) == 200  # the owner, elsewhere
        strangers = [f"203.0.113.{n}" for n in range(10, 10 + NAME_WIDE_FACTOR)]
        for address in strangers:
            assert [login_from(address, "wrong password!") for _ in range(2)] == [401, 401]
        assert login_from("198.51.100.7", PASSWORD) == 429  # now the name is locked everywhere


def test_unknown_names_lock_out_too(auth_server):
    """Otherwise a lockout would tell which names exist."""
    for _ in range(3):
        assert login(auth_server, "no-such-user", "whatever it is").status_code == 401
    assert login(auth_server, "no-such-user", "whatever it is").status_code == 429


def test_lockout_doubles_up_to_an_hour():
    assert [lockout_s(n, 5, 60) for n in (4, 5, 6, 7)] == [0, 60, 120, 240]
    assert lockout_s(50, 5, 60) == MAX_LOCKOUT_S == 3600


def test_session_idle_timeout(tmp_path, admin):
    settings = server_settings(tmp_path, warm_pool_size=0, session_idle_timeout_s=1)
    with RunningServer(settings) as server:
        with httpx.Client(base_url=server.url, headers=server.headers) as root:
            add_user(root, "lea")
        with sign_in(server, "lea") as browser:
            assert browser.get("/api/auth/me").status_code == 200
            time.sleep(1.5)
            idle = browser.get("/api/auth/me")
            assert (idle.status_code, idle.json()) == (401, INVALID)


def test_me_by_token_has_no_csrf_token(admin):
    me = admin.get("/api/auth/me").json()
    assert (me["username"], me["role"], me["csrf_token"]) == ("tester", "admin", None)


@pytest.mark.parametrize("header", ["Basic dGVzdGVyOnRlc3Q=", "Bearer", "Bearer crl_short"])
def test_malformed_authorization_is_401(auth_server, header):
    answer = httpx.get(f"{auth_server.url}/api/auth/me", headers={"Authorization": header})
    assert (answer.status_code, answer.json()) == (401, INVALID)


def test_auth_mode_none_serves_loopback_peers_only(tmp_path, caplog):
    from fastapi.testclient import TestClient

    from app.main import create_app

    settings = server_settings(tmp_path, warm_pool_size=0, auth_mode="none")
    with RunningServer(settings, tester=None) as local:  # peer 127.0.0.1
        me = httpx.get(f"{local.url}/api/auth/me").json()
        assert (me["username"], me["role"], me["source"]) == ("anonymous", "admin", "none")
        assert httpx.get(f"{local.url}/api/auth/config").json()["modes"] == []
    assert any("AUTH_MODE=none: NO SIGN-IN" in r.getMessage() for r in caplog.records)
    # peer "testclient", not loopback; Host one of ALLOWED_HOSTS (app/api/hosts.py)
    with TestClient(create_app(settings), base_url="http://localhost") as remote:
        answer = remote.get("/api/conversations")
        assert answer.status_code == 403 and "loopback" in answer.json()["detail"]

"""/api/admin/users: admins add, change, disable and re-enable local accounts; a
disabled user's sessions end and their tokens stop working; the last admin stays."""

from __future__ import annotations

import threading

import httpx
from agent_server import RunningServer, server_settings
from identity_helpers import PASSWORD, add_user, bearer, sign_in, token_for


def test_add_list_and_refuse_bad_users(admin):
    made = add_user(admin, "rae", role="analyst")
    assert (made["username"], made["role"], made["source"], made["disabled"]) == (
        "rae", "analyst", "local", False)
    assert "rae" in {u["username"] for u in admin.get("/api/admin/users").json()}
    for body in ({"username": "rae", "password": PASSWORD},
                 {"username": "RAE", "password": PASSWORD}):
        taken = admin.post("/api/admin/users", json=body)
        assert taken.status_code == 409 and "exists already" in taken.json()["detail"]
    for body, field in (({"username": "sid", "password": "short"}, "password"),
                        ({"username": "-bad", "password": PASSWORD}, "username")):
        answer = admin.post("/api/admin/users", json=body)
        assert answer.status_code == 422, body
        assert answer.json()["detail"][0]["loc"][-1] == field
        assert "password_hash" not in answer.text


def test_disabling_ends_sessions_and_tokens_until_enabled(auth_server, admin):
    user = add_user(admin, "tia")
    token = token_for(admin, "tia")
    with sign_in(auth_server, "tia") as browser, bearer(auth_server, token) as script:
        assert admin.patch(f"/api/admin/users/{user['id']}",
                           json={"disabled": True}).json()["disabled"] is True
        assert browser.get("/api/auth/me").status_code == 401
        assert script.get("/api/auth/me").status_code == 401
        admin.patch(f"/api/admin/users/{user['id']}", json={"disabled": False})
        assert script.get("/api/auth/me").status_code == 200  # the token lives on
        assert browser.get("/api/auth/me").status_code == 401  # the session does not


def test_role_and_password_changes(auth_server, admin):
    user = add_user(admin, "uma")
    changed = admin.patch(f"/api/admin/users/{user['id']}",
                          json={"role": "admin", "password": "another long password"})
    assert changed.status_code == 200 and changed.json()["role"] == "admin"
    with sign_in(auth_server, "uma", "another long password") as uma:
        assert uma.get("/api/admin/users").status_code == 200
    assert admin.patch(f"/api/admin/users/{'f' * 32}", json={"role": "admin"}).status_code == 404


def test_the_last_admin_cannot_be_demoted_or_disabled(tmp_path):
    with RunningServer(server_settings(tmp_path, warm_pool_size=0)) as server, \
            httpx.Client(base_url=server.url, headers=server.headers) as root:
        me = root.get("/api/auth/me").json()
        for change in ({"role": "analyst"}, {"disabled": True}):
            answer = root.patch(f"/api/admin/users/{me['id']}", json=change)
            assert answer.status_code == 409 and "no enabled admin" in answer.json()["detail"]


def test_two_admins_disabling_each_other_at_once_leave_one(tmp_path):
    # Before: both requests passed the last-admin check before either wrote, so two
    # admins (or one attacker holding two admin tokens) could leave the install with
    # no enabled admin at all.
    with RunningServer(server_settings(tmp_path, warm_pool_size=0)) as server, \
            httpx.Client(base_url=server.url, headers=server.headers) as first:
        first_id = first.get("/api/auth/me").json()["id"]
        for round_ in range(5):
            other = add_user(first, f"other{round_}", role="admin")
            with bearer(server, token_for(first, other["username"], scope="admin")) as second:
                start = threading.Barrier(2)
                codes: dict[str, int] = {}

                def disable(client: httpx.Client, user_id: str, start: threading.Barrier,
                            codes: dict[str, int]) -> None:
                    start.wait()
                    codes[user_id] = client.patch(f"/api/admin/users/{user_id}",
                                                  json={"disabled": True}).status_code

                both = [threading.Thread(target=disable, args=(first, other["id"], start, codes)),
                        threading.Thread(target=disable, args=(second, first_id, start, codes))]
                for thread in both:
                    thread.start()
                for thread in both:
                    thread.join()
                assert sorted(codes.values()) != [200, 200], codes
                if codes[first_id] == 200:  # the other admin won: carry on as them
                    first.headers.update(second.headers)
                    first_id = other["id"]
        admins = [u for u in first.get("/api/admin/users").json()
                  if u["role"] == "admin" and not u["disabled"]]
        assert len(admins) == 1


def test_an_analyst_changes_no_role_and_disables_nobody(auth_server, admin):
    add_user(admin, "val")
    victim = add_user(admin, "wyn")
    with sign_in(auth_server, "val") as val:
        me = val.get("/api/auth/me").json()
        for target, change in ((me["id"], {"role": "admin"}), (victim["id"], {"disabled": True}),
                               (victim["id"], {"password": "taken over by val"})):
            answer = val.patch(f"/api/admin/users/{target}", json=change)
            assert (answer.status_code, answer.json()) == (403, {"detail": "admin role required"})
        assert val.get("/api/auth/me").json()["role"] == "analyst"
    with sign_in(auth_server, "wyn") as wyn:
        assert wyn.get("/api/auth/me").status_code == 200


def test_a_password_reset_ends_every_session_of_that_user(auth_server, admin):
    user = add_user(admin, "xoe")
    with sign_in(auth_server, "xoe") as laptop, sign_in(auth_server, "xoe") as phone:
        assert admin.patch(f"/api/admin/users/{user['id']}",
                           json={"password": "a brand new secret"}).status_code == 200
        assert laptop.get("/api/auth/me").status_code == 401
        assert phone.get("/api/auth/me").status_code == 401
    with sign_in(auth_server, "xoe", "a brand new secret") as again:
        assert again.get("/api/auth/me").status_code == 200

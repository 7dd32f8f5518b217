"""/api/tokens as automation and an attacker see them: shown once, stored hashed,
scoped, expiring, revocable, last use recorded; forged, revoked and expired tokens
refused with one answer; a query-scope token kept out of admin routes."""

from __future__ import annotations

import logging
import re
import secrets

import httpx
import sqlalchemy as sa
from identity_helpers import add_user, bearer, set_past, sign_in, token_for

from app.auth.tokens import hash_token
from app.storage import make_engine, sqlalchemy_url

INVALID = {"detail": "Invalid or expired credentials"}
QUERY_SCOPE = {"detail": "token scope 'query' does not allow this; needs 'admin'"}


def test_a_token_is_shown_once_and_stored_hashed(auth_server, admin):
    made = admin.post("/api/tokens", json={"name": "ci", "scope": "query", "expires_in_days": 7})
    assert made.status_code == 201, made.text
    body = made.json()
    assert re.fullmatch(r"crl_[A-Za-z0-9_-]{43}", body["token"])
    assert body["prefix"] == body["token"][4:12] and body["username"] == "tester"
    listed = [t for t in admin.get("/api/tokens").json() if t["id"] == body["id"]]
    assert listed and "token" not in listed[0]
    engine = make_engine(sqlalchemy_url(auth_server.settings.database_url))
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT token_hash FROM api_tokens WHERE id = :id"),
                              {"id": body["id"]}).scalar_one()
    engine.dispose()
    assert stored == hash_token(body["token"]) and body["token"] not in stored


def test_a_token_works_and_records_its_last_use(auth_server, admin):
    add_user(admin, "mia")
    token = token_for(admin, "mia")
    with bearer(auth_server, token) as mia:
        me = mia.get("/api/auth/me").json()
        assert (me["username"], me["role"], me["csrf_token"]) == ("mia", "analyst", None)
        mine = mia.get("/api/tokens").json()
    assert [t["last_used_at"] is not None for t in mine] == [True]


def test_forged_revoked_and_expired_tokens_are_refused(auth_server, admin):
    forged = "crl_" + secrets.token_urlsafe(32)
    revoked = admin.post("/api/tokens", json={"name": "soon revoked"}).json()
    expired = admin.post("/api/tokens", json={"name": "soon expired"}).json()
    assert admin.delete(f"/api/tokens/{revoked['id']}").status_code == 204
    set_past(auth_server, "api_tokens", "expires_at", "id", expired["id"])
    for token in (forged, revoked["token"], expired["token"]):
        with bearer(auth_server, token) as client:
            answer = client.get("/api/conversations")
        assert (answer.status_code, answer.json()) == (401, INVALID)
        assert answer.headers["www-authenticate"] == "Bearer"
    listed = {t["id"]: t for t in admin.get("/api/tokens").json()}
    assert listed[revoked["id"]]["revoked_at"] is not None


def test_a_query_token_cannot_reach_admin_routes_or_manage_tokens(auth_server, admin):
    query_token = admin.post("/api/tokens", json={"name": "admin's query token"}).json()
    with bearer(auth_server, query_token["token"]) as client:
        assert client.get("/api/conversations").status_code == 200
        for answer in (client.get("/api/admin/users"), client.get("/api/admin/audit"),
                       client.post("/api/tokens", json={"name": "more"}),
                       client.get("/api/tokens?all=true"),
                       client.delete(f"/api/tokens/{query_token['id']}"),
                       client.patch(f"/api/admin/users/{'0' * 32}", json={"role": "admin"})):
            assert (answer.status_code, answer.json()) == (403, QUERY_SCOPE), answer.request.url


def test_an_analyst_gets_no_admin_token_and_no_admin_routes(auth_server, admin):
    add_user(admin, "ned")
    with sign_in(auth_server, "ned") as ned:
        refused = ned.post("/api/tokens", json={"name": "x", "scope": "admin"})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "scope"]
        for answer in (ned.get("/api/admin/users"), ned.get("/api/admin/audit"),
                       ned.get("/api/tokens?all=true")):
            assert (answer.status_code, answer.json()) == (403, {"detail": "admin role required"})
        other = ned.post("/api/tokens", json={"name": "x", "username": "tester"})
        assert other.status_code == 403
        assert admin.post("/api/tokens", json={"name": "a", "scope": "admin",
                                               "username": "ned"}).status_code == 422
        assert admin.post("/api/tokens", json={"name": "a", "username": "no-one"}
                          ).status_code == 404


def test_token_lifetime_is_bounded_by_api_token_max_days(admin):
    answer = admin.post("/api/tokens", json={"name": "forever", "expires_in_days": 366})
    assert answer.status_code == 422
    issue = answer.json()["detail"][0]
    assert issue["loc"] == ["body", "expires_in_days"] and "API_TOKEN_MAX_DAYS" in issue["msg"]


def test_nobody_revokes_another_users_token_but_an_admin(auth_server, admin):
    add_user(admin, "ora")
    add_user(admin, "pat")
    theirs = admin.post("/api/tokens", json={"name": "ora's", "username": "ora"}).json()
    with sign_in(auth_server, "pat") as pat:
        assert pat.delete(f"/api/tokens/{theirs['id']}").status_code == 404
        assert theirs["id"] not in {t["id"] for t in pat.get("/api/tokens").json()}
    with bearer(auth_server, theirs["token"]) as ora:
        assert ora.get("/api/auth/me").status_code == 200
    assert admin.delete(f"/api/tokens/{theirs['id']}").status_code == 204
    with bearer(auth_server, theirs["token"]) as ora:
        assert ora.get("/api/auth/me").status_code == 401
    assert theirs["id"] in {t["id"] for t in admin.get("/api/tokens?all=true").json()}


def test_a_session_creates_a_token_for_itself(auth_server, admin):
    add_user(admin, "quin")
    with sign_in(auth_server, "quin") as quin:
        made = quin.post("/api/tokens", json={"name": "laptop", "expires_in_days": 30})
        assert made.status_code == 201 and made.json()["scope"] == "query"
    assert httpx.get(f"{auth_server.url}/api/auth/me",
                     headers={"Authorization": f"Bearer {made.json()['token']}"}
                     ).json()["username"] == "quin"


def test_no_token_reaches_the_server_log(auth_server, admin, caplog):
    caplog.set_level(logging.DEBUG)
    made = admin.post("/api/tokens", json={"name": "logged?"}).json()
    forged = "crl_" + secrets.token_urlsafe(32)
    for token in (made["token"], forged, made["token"] + "x"):
        with bearer(auth_server, token) as client:
            client.get("/api/auth/me")
            client.post("/api/query", json={"language": "sql", "code": "SELECT 1",
                                            "max_rows": -1})  # a 422 too
    admin.delete(f"/api/tokens/{made['id']}")
    with bearer(auth_server, made["token"]) as client:
        assert client.get("/api/auth/me").status_code == 401
    assert caplog.records, "the server's log was not captured"
    assert "crl_" not in caplog.text

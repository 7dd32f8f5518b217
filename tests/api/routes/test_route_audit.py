"""/api/admin/audit: every run with who asked, newest first, filtered by user, status and
time and paged like /api/conversations; runs from before identity appear with no user."""

from __future__ import annotations

import asyncio
import datetime as dt

from identity_helpers import add_user, bearer, token_for

from app.storage import Storage, sqlalchemy_url
from runner.contract import failed_result


def test_audit_rows_carry_the_username_and_filter(auth_server, admin):
    add_user(admin, "yan")
    add_user(admin, "zoe")
    start = dt.datetime.now(dt.UTC).isoformat()
    with bearer(auth_server, token_for(admin, "yan")) as yan, \
            bearer(auth_server, token_for(admin, "zoe")) as zoe:
        assert yan.post("/api/query", json={"language": "sql", "code": "SELECT 1 AS x"}
                        ).json()["status"] == "ok"
        assert zoe.post("/api/query", json={"language": "sql", "code": "ATTACH 'x.db'"}
                        ).json()["status"] == "rejected"
        asked = zoe.post("/api/chat", json={"question": "How many penguins are there?"})
        assert asked.status_code == 200, asked.text
    rows = admin.get("/api/admin/audit", params={"since": start}).json()
    assert [r["username"] for r in rows] == ["zoe", "zoe", "yan"]  # newest first
    assert rows[0]["question"] == "How many penguins are there?" and rows[2]["question"] is None
    assert {r["run_id"] for r in admin.get("/api/admin/audit",
                                           params={"user": "yan", "since": start}).json()} \
        == {rows[2]["run_id"]}
    rejected = admin.get("/api/admin/audit", params={"status": "rejected", "since": start})
    assert [r["code"] for r in rejected.json()] == ["ATTACH 'x.db'"]
    assert admin.get("/api/admin/audit", params={"until": start, "user": "zoe"}).json() == []


def test_audit_pages_like_conversations(admin):
    first = admin.get("/api/admin/audit", params={"limit": 1})
    total = int(first.headers["x-total-count"])
    assert total >= 2 and len(first.json()) == 1
    link = first.headers["link"]
    assert link.endswith('; rel="next"') and "limit=1" in link and "offset=1" in link
    second = admin.get(link[1:link.index(">")])
    assert second.json()[0]["run_id"] != first.json()[0]["run_id"]


def test_runs_from_before_identity_show_no_user(auth_server, admin):
    async def record() -> None:
        storage = Storage(sqlalchemy_url(auth_server.settings.database_url))
        result = failed_result("pre-identity-run", "rejected", None, "old", 0)
        await storage.record_run(result, "sql", "SELECT 'old'", "docker", 0)
        await storage.close()

    asyncio.run(record())
    rows = admin.get("/api/admin/audit", params={"status": "rejected", "limit": 500}).json()
    old = [r for r in rows if r["run_id"] == "pre-identity-run"]
    assert old and old[0]["username"] is None


def test_bad_filters_name_the_parameter(admin):
    for params, name in (({"status": "nope"}, "status"), ({"since": "yesterday"}, "since"),
                         ({"until": "0.5"}, "until"), ({"limit": 0}, "limit")):
        answer = admin.get("/api/admin/audit", params=params)
        assert answer.status_code == 422 and answer.json()["detail"][0]["loc"][-1] == name


def test_a_time_outside_the_utc_range_names_the_parameter(admin):
    # Before: converting these to UTC overflowed (year 10000 / year 0): a 500.
    for params, name in (({"since": "9999-12-31T23:59:59-14:00"}, "since"),
                         ({"until": "0001-01-01T00:00:00+14:00"}, "until")):
        answer = admin.get("/api/admin/audit", params=params)
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["loc"][-1] == name

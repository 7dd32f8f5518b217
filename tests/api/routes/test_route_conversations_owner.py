"""Conversations belong to whoever started them: a second user can neither list, read,
append to nor delete the first user's (404, as if the id did not exist)."""

from __future__ import annotations

from identity_helpers import add_user, bearer, sign_in, token_for

QUESTION = {"question": "What is the weather?"}  # answered without a sandbox


def test_a_second_user_cannot_touch_the_first_users_conversation(auth_server, admin):
    add_user(admin, "vic")
    add_user(admin, "wes")
    with sign_in(auth_server, "vic") as vic, bearer(auth_server, token_for(admin, "wes")) as wes:
        first = vic.post("/api/chat", json=QUESTION)
        assert first.status_code == 200, first.text
        cid = first.json()["conversation_id"]
        assert [c["id"] for c in vic.get("/api/conversations").json()] == [cid]

        assert wes.get("/api/conversations").json() == []
        assert wes.get("/api/conversations").headers["x-total-count"] == "0"
        for answer in (wes.get(f"/api/conversations/{cid}"),
                       wes.delete(f"/api/conversations/{cid}"),
                       wes.post("/api/chat", json={**QUESTION, "conversation_id": cid})):
            assert answer.status_code == 404, answer.request.url
            assert "does not exist" in answer.json()["detail"]

        kept = vic.get(f"/api/conversations/{cid}").json()
        assert len(kept["messages"]) == 1  # nothing appended, nothing deleted
        follow_up = vic.post("/api/chat", json={**QUESTION, "conversation_id": cid})
        assert follow_up.status_code == 200
        assert vic.delete(f"/api/conversations/{cid}").status_code == 204


def test_an_admin_does_not_see_others_conversations_in_their_history(auth_server, admin):
    add_user(admin, "xia")
    with sign_in(auth_server, "xia") as xia:
        cid = xia.post("/api/chat", json=QUESTION).json()["conversation_id"]
    assert cid not in {c["id"] for c in admin.get("/api/conversations?limit=500").json()}
    assert admin.get(f"/api/conversations/{cid}").status_code == 404

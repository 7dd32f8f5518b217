"""POST /api/conversations/{id}/rerun: an answer's SQL, edited by the person, runs again
through the same guard and sandbox as a question (real bubblewrap sandbox, real DuckDB),
is added to their conversation and audited as their run; the guard's refusals come
back as an answer that says why; another user's conversation is not theirs to run in."""

from __future__ import annotations

import sqlalchemy as sa
from identity_helpers import add_user, bearer, sign_in, token_for

from app.storage import make_engine, sqlalchemy_url

QUESTION = {"question": "how many penguins by island", "dataset": "penguins"}
EDITED = "SELECT species, COUNT(*) AS n FROM penguins GROUP BY species ORDER BY species"


def _runs_of(server, conversation_id: str) -> list[dict]:
    """The audit rows of one conversation, read from the server's database."""
    engine = make_engine(sqlalchemy_url(server.settings.database_url))
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT r.code, r.status, r.question, u.username FROM runs r "
            "LEFT JOIN users u ON u.id = r.user_id WHERE r.conversation_id = :c ORDER BY r.id"
        ), {"c": conversation_id}).mappings().all()
    engine.dispose()
    return [dict(r) for r in rows]


def test_edited_sql_answers_in_the_conversation_as_the_users_run(auth_server, admin):
    add_user(admin, "rerun-rita")
    with sign_in(auth_server, "rerun-rita") as rita:
        first = rita.post("/api/chat", json=QUESTION).json()
        assert first["result"]["status"] == "ok"
        cid = first["conversation_id"]

        answer = rita.post(f"/api/conversations/{cid}/rerun",
                           json={"code": EDITED, "message_id": first["id"]})
        assert answer.status_code == 200, answer.text
        edited = answer.json()
        assert edited["conversation_id"] == cid
        assert edited["question"] == "Edited SQL of: how many penguins by island"
        assert edited["plan"] == {"language": "sql", "code": EDITED, "planner": "edited",
                                  "explanation": "Your edited SQL, run as written."}
        assert edited["reading"] == "Your edited SQL, run as written."
        assert edited["result"]["status"] == "ok"
        assert [c["name"] for c in edited["result"]["columns"]] == ["species", "n"]
        assert edited["result"]["rows"] == [["Adelie", 152], ["Chinstrap", 68], ["Gentoo", 124]]

        stored = rita.get(f"/api/conversations/{cid}").json()["messages"]
        assert [m["id"] for m in stored] == [first["id"], edited["id"]]
    runs = _runs_of(auth_server, cid)
    assert runs[-1] == {"code": EDITED, "status": "ok", "username": "rerun-rita",
                        "question": "Edited SQL of: how many penguins by island"}


def test_the_guard_refuses_edited_sql_and_says_why(auth_server, admin):
    add_user(admin, "rerun-rob")
    with bearer(auth_server, token_for(admin, "rerun-rob")) as rob:
        cid = rob.post("/api/chat", json=QUESTION).json()["conversation_id"]
        for code, why in (
            ("DELETE FROM penguins", "found: DELETE"),
            ("SELECT * FROM secrets", "found the unknown table 'secrets'"),
            ("SELECT * FROM read_csv('/etc/passwd')", "read_csv()"),
            ("SELECT 1; SELECT 2", "found 2 statements"),
        ):
            answer = rob.post(f"/api/conversations/{cid}/rerun", json={"code": code})
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["result"]["status"] == "rejected"
            assert body["result"]["rows"] == []
            assert why in body["result"]["error"]["message"]
            assert body["message"].startswith("The plan was refused before running: only "
                                              "one read-only SELECT over ")
            assert why in body["message"]
    statuses = [r["status"] for r in _runs_of(auth_server, cid)]
    assert statuses == ["ok"] + ["rejected"] * 4  # every refusal is audited too


def test_another_users_conversation_is_not_theirs_to_run_in(auth_server, admin):
    add_user(admin, "rerun-sam")
    add_user(admin, "rerun-tess")
    with sign_in(auth_server, "rerun-sam") as sam, sign_in(auth_server, "rerun-tess") as tess:
        first = sam.post("/api/chat", json=QUESTION).json()
        cid = first["conversation_id"]
        answer = tess.post(f"/api/conversations/{cid}/rerun",
                           json={"code": EDITED, "message_id": first["id"]})
        assert answer.status_code == 404
        assert answer.json()["detail"] == f"Conversation {cid} does not exist."
        assert len(sam.get(f"/api/conversations/{cid}").json()["messages"]) == 1
    assert len(_runs_of(auth_server, cid)) == 1  # nothing ran for tess


def test_bad_bodies_name_the_field(auth_server, admin):
    add_user(admin, "rerun-uma")
    with bearer(auth_server, token_for(admin, "rerun-uma")) as uma:
        cid = uma.post("/api/chat", json={"question": "What is the weather?"}).json()[
            "conversation_id"]
        for body, field in (({"code": ""}, "code"), ({"code": "SELECT 1", "language": "r"},
                                                     "language"),
                            ({"code": "SELECT 1", "message_id": "x"}, "message_id")):
            answer = uma.post(f"/api/conversations/{cid}/rerun", json=body)
            assert answer.status_code == 422, answer.text
            assert [i["loc"][-1] for i in answer.json()["detail"]] == [field]
        unknown = uma.post(f"/api/conversations/{cid}/rerun",
                           json={"code": "SELECT 1", "message_id": "f" * 32})
        assert unknown.status_code == 404
        assert unknown.json()["detail"] == (f"Answer {'f' * 32} is not in conversation {cid}; "
                                            "omit message_id for code of your own.")

"""Storage on real SQLite files and (when installed) a real PostgreSQL server:
migrations at start-up, conversations, messages, and the run audit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.settings import load_settings
from app.storage import ConversationGone, Storage, sqlalchemy_url
from runner.contract import failed_result, ok_result


@pytest.fixture(params=["sqlite", "postgresql"])
async def storage(request, tmp_path):
    if request.param == "sqlite":
        # a parent folder that does not exist yet: Storage creates it
        url = f"sqlite:///{tmp_path}/nested/dir/corral.db"
    else:
        url = request.getfixturevalue("postgres_url")
        engine = sa.create_engine(sqlalchemy_url(load_settings(database_url=url).database_url))
        with engine.begin() as conn:  # a clean schema per test
            conn.execute(sa.text("DROP TABLE IF EXISTS runs, messages, conversations, "
                                 "api_tokens, sessions, login_failures, setup_codes, users, "
                                 "alembic_version CASCADE"))
        engine.dispose()
        url = sqlalchemy_url(load_settings(database_url=url).database_url)
    s = Storage(url)
    await s.open()
    yield s
    await s.close()


async def test_migrations_are_idempotent_and_versioned(storage):
    await storage.open()  # second start-up: nothing to do, nothing breaks
    with storage.engine.connect() as conn:
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        tables = set(sa.inspect(conn).get_table_names())
        user_columns = {c["name"] for c in sa.inspect(conn).get_columns("users")}
    assert version == "0004"
    assert {"conversations", "messages", "runs", "users", "api_tokens", "sessions",
            "login_failures", "setup_codes"} <= tables
    assert "groups" in user_columns  # 0003: per-dataset visibility by group


async def test_conversation_round_trip(storage):
    cid = await storage.create_conversation("How many penguins?")
    plan = {"language": "sql", "code": "SELECT 1", "planner": "offline", "explanation": "x"}
    result = ok_result("r1", [{"name": "n", "type": "BIGINT"}], [[344]], False, 12)
    first = await storage.add_message(cid, "How many penguins?", plan, result, "344", [])
    second = await storage.add_message(cid, "weather?", None, None, "I cannot.", ["a", "b"])
    conv = await storage.get_conversation(cid)
    assert conv["title"] == "How many penguins?"
    assert [m["id"] for m in conv["messages"]] == [first["id"], second["id"]]
    assert conv["messages"][0]["result"]["rows"] == [[344]]
    assert conv["messages"][0]["plan"] == plan
    assert conv["messages"][1]["suggestions"] == ["a", "b"]
    listed = await storage.list_conversations()
    assert listed[0]["id"] == cid and listed[0]["message_count"] == 2
    assert (await storage.history(cid, limit=1))[0]["question"] == "weather?"


async def test_newest_conversation_first(storage):
    a = await storage.create_conversation("a")
    b = await storage.create_conversation("b")
    await storage.add_message(a, "q", None, None, "m", [])  # a is updated last
    assert [c["id"] for c in await storage.list_conversations()][:2] == [a, b]


async def test_conversations_page_without_gaps_or_repeats(storage):
    ids = [await storage.create_conversation(f"c{i}") for i in range(5)]
    assert await storage.count_conversations() == 5
    pages = [await storage.list_conversations(limit=2, offset=o) for o in (0, 2, 4, 6)]
    assert [len(p) for p in pages] == [2, 2, 1, 0]
    assert [c["id"] for p in pages for c in p] == ids[::-1]


async def test_text_is_stored_faithfully(storage):
    # astral characters (a surrogate pair in JSON), control characters, RTL text
    question = "How many \U0001f427 penguins? \u202e\x1f \u00e9\u0301"
    cid = await storage.create_conversation(question)
    await storage.add_message(cid, question, None, None, "m", [])
    conv = await storage.get_conversation(cid)
    assert conv["title"] == question and conv["messages"][0]["question"] == question


async def test_delete_keeps_the_audit(storage):
    cid = await storage.create_conversation("t")
    result = failed_result("r-del", "rejected", None, "found: ATTACH", 0)
    await storage.record_run(result, "sql", "ATTACH 'x'", "bwrap", 0, conversation_id=cid)
    await storage.add_message(cid, "q", None, result, "m", [])
    assert await storage.delete_conversation(cid) is True
    assert await storage.get_conversation(cid) is None
    assert await storage.delete_conversation(cid) is False
    runs = await storage.list_runs()
    assert runs[0]["run_id"] == "r-del" and runs[0]["status"] == "rejected"
    assert runs[0]["error_type"] == "rejected" and runs[0]["conversation_id"] == cid


async def test_run_audit_row(storage):
    result = ok_result("r-ok", [{"name": "n", "type": "BIGINT"}], [[1], [2]], True, 40)
    await storage.record_run(result, "sql", "SELECT 1", "docker", 57)
    await storage.link_run("r-ok", "m" * 32)
    row = (await storage.list_runs())[0]
    assert row["status"] == "ok" and row["row_count"] == 2 and row["duration_ms"] == 57
    assert row["executor"] == "docker" and row["code"] == "SELECT 1"
    assert row["message_id"] == "m" * 32 and row["conversation_id"] is None
    assert row["created_at"].endswith("+00:00")


async def test_an_answer_for_a_deleted_conversation_is_refused_and_stores_nothing(storage):
    """A follow-up racing a delete: the answer finds its conversation gone (-> 404)."""
    from app.storage import ConversationGone

    cid = await storage.create_conversation("soon gone")
    assert await storage.delete_conversation(cid)
    with pytest.raises(ConversationGone):
        await storage.add_message(cid, "q", None, None, "m", [])
    assert not await storage.conversation_exists(cid)
    assert await storage.get_conversation(cid) is None


async def test_each_owner_sees_only_their_conversations(storage):
    mine = await storage.create_conversation("mine", user_id="a" * 32)
    theirs = await storage.create_conversation("theirs", user_id="b" * 32)
    before = await storage.create_conversation("from before identity")  # user_id NULL
    assert [c["id"] for c in await storage.list_conversations(user_id="a" * 32)] == [mine]
    assert await storage.count_conversations(user_id="b" * 32) == 1
    assert await storage.get_conversation(theirs, user_id="a" * 32) is None
    assert not await storage.conversation_exists(theirs, user_id="a" * 32)
    assert await storage.get_conversation(before, user_id="a" * 32) is None
    assert await storage.delete_conversation(theirs, user_id="a" * 32) is False
    with pytest.raises(ConversationGone):  # appending to another's is as if it were gone
        await storage.add_message(theirs, "q", None, None, "m", [], user_id="a" * 32)
    assert (await storage.get_conversation(theirs, user_id="b" * 32))["messages"] == []
    assert await storage.delete_conversation(theirs, user_id="b" * 32) is True


async def test_runs_record_who_asked_what(storage):
    await storage.record_run(ok_result("r-who", [], [], False, 1), "sql", "SELECT 1",
                             "bwrap", 3, user_id="a" * 32, question="How many?")
    row = (await storage.list_runs())[0]
    assert (row["user_id"], row["question"]) == ("a" * 32, "How many?")

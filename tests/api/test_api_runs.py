"""End to end through HTTP with real sandboxes (bubblewrap): chat -> plan -> guard ->
sandbox -> stored answer, history, the direct query path, guard rejections,
capacity (429 + Retry-After) and the metrics that count all of it."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
import sqlalchemy as sa
from agent_server import RunningServer, metric, server_settings
from fake_llm_server import FakeLLM, reply

from app.storage import sqlalchemy_url

pytestmark = pytest.mark.bwrap

EXPECTED = {
    "penguins": [["Adelie", 3700.66], ["Chinstrap", 3733.09], ["Gentoo", 5076.02]],
    "gapminder": [["Oceania", 80.72], ["Europe", 77.65], ["Americas", 73.61], ["Asia", 70.73],
                  ["Africa", 54.81]],
    "flights": [["ORD", 17283], ["ATL", 17215], ["LAX", 16174], ["BOS", 15508],
                ["MCO", 14082]],
}


def test_readyz(client):
    assert client.get("/readyz").json() == {"status": "ready", "executor": "bwrap"}


def test_canonical_prompts_answer_with_the_right_tables(client):
    for suggestion in client.get("/api/suggestions").json():
        answer = client.post("/api/chat", json={"question": suggestion["question"]}).json()
        assert answer["result"]["status"] == "ok", answer
        assert answer["result"]["rows"] == EXPECTED[suggestion["dataset"]]
        assert answer["plan"]["planner"] == "offline" and answer["plan"]["language"] == "sql"
        assert answer["question"] == suggestion["question"]
        assert "rows" in answer["message"]


def test_conversation_history(client):
    first = client.post("/api/chat", json={"question": "How many penguins are there?"}).json()
    cid = first["conversation_id"]
    second = client.post("/api/chat", json={"question": "and per island?",
                                             "conversation_id": cid}).json()
    assert second["conversation_id"] == cid
    # the follow-up knew the dataset from the history
    assert second["result"]["rows"] == [["Biscoe", 168], ["Dream", 124], ["Torgersen", 52]]
    stored = client.get(f"/api/conversations/{cid}").json()
    assert stored["title"] == "How many penguins are there?"
    assert [m["question"] for m in stored["messages"]] == ["How many penguins are there?",
                                                           "and per island?"]
    assert stored["messages"][0]["result"]["rows"] == [[344]]
    listed = client.get("/api/conversations").json()
    assert listed[0]["id"] == cid and listed[0]["message_count"] == 2
    assert client.delete(f"/api/conversations/{cid}").status_code == 204
    assert client.get(f"/api/conversations/{cid}").status_code == 404
    assert cid not in [c["id"] for c in client.get("/api/conversations").json()]


def test_query_sql_and_python(client):
    run = client.post("/api/query", json={
        "language": "sql", "code": "SELECT island, COUNT(*) AS n FROM penguins GROUP BY 1 "
        "ORDER BY 1"}).json()
    assert run["status"] == "ok" and run["rows"] == [["Biscoe", 168], ["Dream", 124],
                                                     ["Torgersen", 52]]
    assert run["run_id"] and run["columns"][0] == {"name": "island", "type": "VARCHAR"}
    run = client.post("/api/query", json={
        "language": "python",
        "code": "result = gapminder[gapminder.year == 2007].groupby('continent', "
                "as_index=False)['pop'].sum().sort_values('continent')"}).json()
    assert run["status"] == "ok" and run["rows"][-1] == ["Oceania", 24549947]


def test_max_rows_truncates(client):
    run = client.post("/api/query", json={"language": "sql", "code": "SELECT * FROM flights",
                                          "max_rows": 7}).json()
    assert run["status"] == "ok" and run["row_count"] == 7 and run["truncated"] is True


def test_guard_rejection_is_returned_counted_and_audited(server, client):
    before = metric(client, "corral_runs_total", status="rejected", language="sql")
    run = client.post("/api/query", json={"language": "sql",
                                          "code": "SELECT * FROM read_csv('/etc/passwd')"})
    assert run.status_code == 200
    body = run.json()
    assert body["status"] == "rejected" and body["error"]["type"] == "rejected"
    assert "read_csv()" in body["error"]["message"]
    assert metric(client, "corral_runs_total", status="rejected", language="sql") == before + 1
    engine = sa.create_engine(sqlalchemy_url(server.settings.database_url))
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT status, code, conversation_id FROM runs "
                                   "WHERE run_id = :r"), {"r": body["run_id"]}).one()
    engine.dispose()
    assert row == ("rejected", "SELECT * FROM read_csv('/etc/passwd')", None)


def test_sql_error_is_reported(client):
    run = client.post("/api/query", json={"language": "sql",
                                          "code": "SELECT no_such_column FROM penguins"}).json()
    assert run["status"] == "error" and run["error"]["type"] == "sql_error"
    assert "no_such_column" in run["error"]["message"]


def test_metrics_count_runs_and_plans(client):
    ok_before = metric(client, "corral_runs_total", status="ok", language="sql")
    plans_before = metric(client, "corral_plans_total", planner="offline", outcome="planned")
    client.post("/api/chat", json={"question": "How many species are there?"})
    assert metric(client, "corral_runs_total", status="ok", language="sql") == ok_before + 1
    assert metric(client, "corral_plans_total", planner="offline",
                  outcome="planned") == plans_before + 1
    assert metric(client, "corral_run_duration_seconds_count") >= 1
    assert metric(client, "corral_active_sandboxes") == 0


def test_capacity_429_with_retry_after(tmp_path):
    settings = server_settings(tmp_path, max_sandboxes=1, run_timeout_ms=4000)
    with RunningServer(settings) as s, httpx.Client(base_url=s.url, headers=s.headers, timeout=60) as c:
        slow: dict = {}

        def occupy() -> None:
            slow["run"] = c.post("/api/query", json={
                "language": "python", "code": "import time\ntime.sleep(30)"}).json()

        t = threading.Thread(target=occupy)
        t.start()
        deadline = time.monotonic() + 30  # wait for the condition, not for a time
        while metric(c, "corral_active_sandboxes") < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert metric(c, "corral_active_sandboxes") == 1
        for path, body in (("/api/query", {"language": "sql", "code": "SELECT 1"}),
                           ("/api/chat", {"question": "How many penguins are there?"})):
            busy = c.post(path, json=body)
            assert busy.status_code == 429
            assert busy.json() == {"detail": "All 1 sandboxes are busy; retry in a few seconds."}
            assert int(busy.headers["Retry-After"]) >= 1
        assert metric(c, "corral_capacity_rejections_total") == 2
        # nothing was stored for the refused chat
        assert c.get("/api/conversations").json() == []
        t.join(timeout=60)
        assert slow["run"]["status"] == "timeout"
        # the slot is free again and the server still serves
        assert c.post("/api/query", json={"language": "sql", "code": "SELECT 1 AS x"}).json()[
            "rows"] == [[1]]


def test_llm_plan_rejected_then_retried_through_the_api(tmp_path):
    llm = FakeLLM()
    llm.script.append((200, reply("sql", "ATTACH '/tmp/evil.db' AS e"), 0))
    llm.script.append((200, reply("sql", "SELECT COUNT(*) AS n FROM penguins", "Count."), 0))
    llm.script.append((200, reply("sql", "COPY penguins TO '/tmp/x.csv'"), 0))
    llm.script.append((200, reply("sql", "INSTALL httpfs"), 0))
    settings = server_settings(tmp_path, llm_base_url=llm.url, llm_model="m")
    try:
        with RunningServer(settings) as s, httpx.Client(base_url=s.url, headers=s.headers, timeout=60) as c:
            fixed = c.post("/api/chat", json={"question": "How many penguins?"}).json()
            assert fixed["result"]["status"] == "ok" and fixed["result"]["rows"] == [[344]]
            assert fixed["plan"] == {"language": "sql", "planner": "llm", "explanation": "Count.",
                                     "code": "SELECT COUNT(*) AS n FROM penguins"}
            assert "found: ATTACH" in llm.requests[1]["messages"][-1]["content"]
            # both attempts refused: the answer says so and is stored as rejected
            refused = c.post("/api/chat", json={"question": "Export the penguins"}).json()
            assert refused["result"]["status"] == "rejected"
            assert "found: INSTALL" in refused["message"]
            stored = c.get(f"/api/conversations/{refused['conversation_id']}").json()
            assert stored["messages"][0]["result"]["status"] == "rejected"
            assert metric(c, "corral_plans_total", planner="llm", outcome="retried") == 2
            assert metric(c, "corral_runs_total", status="rejected", language="sql") == 3
    finally:
        llm.close()


def test_an_llm_plan_that_ignores_a_condition_is_flagged_in_the_answer(tmp_path):
    """A stand-in OpenAI-compatible endpoint (FakeLLM; no real LLM is reachable here)
    answers with a plan that drops the question's species."""
    llm = FakeLLM()
    llm.script.append((200, reply("sql", "SELECT COUNT(*) AS n FROM penguins "
                                  "WHERE island = 'Biscoe'", "Count on Biscoe."), 0))
    settings = server_settings(tmp_path, llm_base_url=llm.url, llm_model="m")
    try:
        with RunningServer(settings) as s, httpx.Client(base_url=s.url, headers=s.headers,
                                                        timeout=60) as c:
            answer = c.post("/api/chat", json={
                "question": "how many gentoo penguins live on biscoe"}).json()
            assert answer["result"]["status"] == "ok"
            assert answer["unread"] == ["gentoo"]
            assert answer["reading"].startswith(
                "Number of rows in penguins where island = 'Biscoe'.")
            assert answer["reading"].endswith(
                "This plan does not use 'gentoo' of the question: check the answer before "
                "you trust it.")
            stored = c.get(f"/api/conversations/{answer['conversation_id']}").json()
            assert stored["messages"][0]["unread"] == ["gentoo"]
    finally:
        llm.close()

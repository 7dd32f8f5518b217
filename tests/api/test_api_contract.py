"""The HTTP contract (docs/api.md) that needs no sandbox: probes, datasets,
suggestions, validation, unknown ids, the static UI and readiness when the
backend is down."""

from __future__ import annotations

import httpx
import pytest
from agent_server import ROOT, RunningServer, server_settings


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    # bwrap mode, but nothing here starts a sandbox
    settings = server_settings(tmp_path_factory.mktemp("contract"), max_rows=50)
    with RunningServer(settings) as s, httpx.Client(base_url=s.url, timeout=30) as c:
        yield c


def test_healthz(plain):
    assert plain.get("/healthz").json() == {"status": "ok"}


def test_datasets_have_schemas_and_samples(plain):
    datasets = {d["name"]: d for d in plain.get("/api/datasets").json()}
    assert set(datasets) == {"penguins", "gapminder", "flights"}
    penguins = datasets["penguins"]
    assert penguins["row_count"] == 344 and penguins["license"]
    cols = {c["name"]: c for c in penguins["columns"]}
    assert cols["body_mass_g"]["description"] == "body mass in grams"
    assert len(penguins["sample"]["rows"]) == 5
    assert penguins["sample"]["rows"][0][:2] == ["Adelie", "Torgersen"]
    flights = datasets["flights"]
    assert flights["row_count"] == 336776
    # timestamps and NULLs come out as JSON
    row = flights["sample"]["rows"][0]
    assert isinstance(row[-1], str) and row[-1].startswith("2013-01-01")


def test_suggestions_are_the_canonical_prompts(plain):
    suggestions = plain.get("/api/suggestions").json()
    assert [s["dataset"] for s in suggestions] == ["penguins", "gapminder", "flights"]
    assert suggestions[0]["question"] == "What is the average body mass of penguins by species?"


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/chat", {"question": ""}, "question"),
    ("/api/chat", {"question": "   "}, "question"),
    ("/api/chat", {"question": "x" * 2001}, "question"),
    ("/api/chat", {}, "question"),
    ("/api/chat", {"question": "hi", "conversation_id": "../../etc"}, "conversation_id"),
    ("/api/chat", {"question": "hi", "dataset": "weather"}, "dataset"),
    ("/api/query", {"language": "rust", "code": "fn main(){}"}, "language"),
    ("/api/query", {"language": "sql", "code": ""}, "code"),
    ("/api/query", {"language": "sql", "code": "x" * 100001}, "code"),
    ("/api/query", {"language": "sql", "code": "SELECT 1", "max_rows": 0}, "max_rows"),
    ("/api/query", {"language": "sql", "code": "SELECT 1", "max_rows": 51}, "max_rows"),
])
def test_validation_errors_name_the_field(plain, path, body, field):
    response = plain.post(path, json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert any(err["loc"][-1] == field for err in detail), detail


def test_unknown_dataset_lists_the_known_ones(plain):
    detail = plain.post("/api/chat", json={"question": "hi", "dataset": "weather"}).json()
    assert "penguins, gapminder, flights" in detail["detail"][0]["msg"]


def test_unknown_conversation_is_404_with_a_message(plain):
    cid = "0" * 32
    for response in (
        plain.get(f"/api/conversations/{cid}"),
        plain.delete(f"/api/conversations/{cid}"),
        plain.post("/api/chat", json={"question": "How many penguins?", "conversation_id": cid}),
    ):
        assert response.status_code == 404
        assert f"Conversation {cid} does not exist" in response.json()["detail"]


def test_cannot_plan_is_an_answer_with_suggestions(plain):
    answer = plain.post("/api/chat", json={"question": "What is the weather like today?"}).json()
    assert answer["plan"] is None and answer["result"] is None
    assert "penguins, gapminder, flights" in answer["message"]
    assert 3 <= len(answer["suggestions"]) <= 5
    stored = plain.get(f"/api/conversations/{answer['conversation_id']}").json()
    assert stored["messages"][0]["message"] == answer["message"]


def test_metrics_are_prometheus_text(plain):
    response = plain.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    for name in ("corral_runs_total", "corral_run_duration_seconds", "corral_active_sandboxes",
                 "corral_capacity_rejections_total", "corral_plans_total"):
        assert f"# TYPE {name}" in response.text


def test_ui_is_served_when_ui_dir_is_set(tmp_path):
    ui = ROOT / "app" / "ui"
    if not (ui / "index.html").is_file():
        pytest.skip("app/ui/index.html is not there yet")
    settings = server_settings(tmp_path, ui_dir=ui)
    with RunningServer(settings) as s, httpx.Client(base_url=s.url) as c:
        page = c.get("/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert page.text == (ui / "index.html").read_text()
        assert c.get("/api/suggestions").status_code == 200  # the API still wins
        assert c.get("/Dockerfile").status_code == 404  # build files are not content
        assert c.get("/container/entrypoint.sh").status_code == 404


def test_readyz_names_the_problem_when_docker_is_down(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such-docker.sock")
    settings = server_settings(tmp_path, execution_mode="docker")
    with RunningServer(settings) as s, httpx.Client(base_url=s.url) as c:
        response = c.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable" and body["executor"] == "docker"
        assert "docker" in body["detail"].lower()
        assert c.get("/healthz").status_code == 200  # still serving


"""POST /api/chat as a client sees it: validation (strict types, invalid Unicode),
unknown ids, answers the planner cannot plan, and methods the path does not have."""

from __future__ import annotations

import json

import pytest
from route_helpers import fields, send


@pytest.mark.parametrize(("body", "field"), [
    ({"question": ""}, "question"),
    ({"question": "   "}, "question"),
    ({"question": "\u2003\n"}, "question"),
    ({"question": "x" * 2001}, "question"),
    ({}, "question"),
    ({"question": 42}, "question"),
    ({"question": "hi", "conversation_id": "../../etc"}, "conversation_id"),
    ({"question": "hi", "conversation_id": 1}, "conversation_id"),
    ({"question": "hi", "dataset": "weather"}, "dataset"),
    ({"question": "hi", "dataset": ["penguins"]}, "dataset"),
    ({"question": "hi\u0000there"}, "question"),
])
def test_validation_errors_name_the_field(api, body, field):
    assert field in fields(api.post("/api/chat", json=body))


@pytest.mark.parametrize(("raw", "field"), [
    ('{"question": "\\ud800"}', "question"),
    ('{"question": "How many penguins? \\udfff"}', "question"),
    ('{"question": "\\ud83d\\ude00 \\udc00"}', "question"),
    ('{"question": "hi", "dataset": "\\ud800penguins"}', "dataset"),
    ('{"question": "hi", "conversation_id": "\\ud800"}', "conversation_id"),
])
def test_lone_surrogates_are_refused_not_a_500(api, raw, field):
    response = send(api, "/api/chat", raw)
    assert field in fields(response)
    # the refused input is echoed back as printable text, so the answer is valid UTF-8
    assert "\\ud8" in response.text or "\\udc" in response.text or "\\udf" in response.text


def test_a_surrogate_pair_is_text_and_stored_faithfully(api):
    question = "Tell me a joke \U0001f427 \u00e9\u0301 \u202e"
    answer = send(api, "/api/chat", json.dumps({"question": question})).json()
    assert answer["question"] == question and answer["plan"] is None  # no sandbox needed
    stored = api.get(f"/api/conversations/{answer['conversation_id']}").json()
    assert stored["messages"][0]["question"] == question and stored["title"] == question


def test_question_is_stored_without_surrounding_space(api):
    answer = api.post("/api/chat", json={"question": "  What is the weather like?\n"}).json()
    assert answer["question"] == "What is the weather like?"


def test_unknown_dataset_lists_the_known_ones(api):
    detail = api.post("/api/chat", json={"question": "hi", "dataset": "weather"}).json()
    assert "penguins, gapminder, flights" in detail["detail"][0]["msg"]


def test_unknown_conversation_is_404_with_a_message(api):
    cid = "0" * 32
    response = api.post("/api/chat", json={"question": "How many penguins?",
                                           "conversation_id": cid})
    assert response.status_code == 404
    assert f"Conversation {cid} does not exist" in response.json()["detail"]


def test_cannot_plan_is_an_answer_with_suggestions(api):
    response = api.post("/api/chat", json={"question": "What is the weather like today?"})
    assert response.status_code == 200
    answer = response.json()
    assert answer["plan"] is None and answer["result"] is None
    assert "penguins, gapminder, flights" in answer["message"]
    assert 3 <= len(answer["suggestions"]) <= 5
    stored = api.get(f"/api/conversations/{answer['conversation_id']}").json()
    assert stored["messages"][0]["message"] == answer["message"]


def test_body_that_is_not_json_or_not_utf8(api):
    assert "body" in str(send(api, "/api/chat", "{not json").json()["detail"][0]["loc"])
    response = send(api, "/api/chat", b'{"question": "\xff\xfe"}')
    assert response.status_code == 400 and response.json()["detail"]


def test_undecodable_bytes_of_another_content_type_are_422(api):
    response = api.post("/api/chat", content=b"\xff\xfe\x00q", headers={
        "content-type": "application/octet-stream"})
    assert fields(response) == ["body"]
    assert "\\xff" in response.text  # echoed as printable text


def test_oversized_body_is_413(api):
    response = send(api, "/api/chat", json.dumps({"question": "x" * (2 * 1024 * 1024)}))
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405_not_the_ui(api, method):
    # the UI is served at / on this server; an API path must never fall through to it
    response = api.request(method, "/api/chat")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {"detail": "Method Not Allowed"}


def test_unknown_api_path_is_a_json_404(api):
    response = api.get("/api/nothing-here")
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}


def test_unknown_fields_are_ignored_even_with_invalid_keys(api):
    response = send(api, "/api/chat", '{"question": "Will it rain today?", "\\ud800": 1}')
    assert response.status_code == 200 and response.json()["question"] == "Will it rain today?"


@pytest.mark.parametrize("raw", [
    "[" * 200000 + "]" * 200000,  # nested past the parser's recursion limit
    '{"question": NaN}', '{"question": Infinity}', "null", "[]", '"question"',
])
def test_hostile_json_is_a_4xx_never_a_500(api, raw):
    response = send(api, "/api/chat", raw)
    assert response.status_code in (400, 422), response.text
    assert response.json()["detail"]

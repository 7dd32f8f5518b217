"""/openapi.json as a client (or a generator of clients) sees it: every operation
describes its success body and every error status the route can give."""

from __future__ import annotations

import pytest
from route_helpers import MAX_ROWS

ERRORS = {
    ("post", "/api/chat"): {"400", "404", "413", "422", "429", "503"},
    ("post", "/api/query"): {"400", "413", "422", "429", "503"},
    ("get", "/api/conversations"): {"422", "503"},
    ("get", "/api/conversations/{conversation_id}"): {"404", "422", "503"},
    ("delete", "/api/conversations/{conversation_id}"): {"404", "422", "503"},
    ("get", "/readyz"): {"503"},
}


@pytest.fixture(scope="module")
def spec(api):
    response = api.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(spec):
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            yield method, path, op


def test_every_route_is_documented(spec):
    assert {(m, p) for m, p, _ in operations(spec)} == set(ERRORS) | {
        ("get", "/healthz"), ("get", "/metrics"), ("get", "/api/datasets"),
        ("get", "/api/suggestions")}


def test_every_success_has_a_body_schema(spec):
    for method, path, op in operations(spec):
        ok = op["responses"].get("200") or op["responses"]["204"]
        if method == "delete":
            assert "content" not in ok, path
            continue
        (media, body), = ok["content"].items()
        assert body["schema"], (method, path)
        assert media == ("text/plain" if path == "/metrics" else "application/json")


def test_every_error_status_is_documented_with_a_model(spec):
    for method, path, op in operations(spec):
        documented = {s for s in op["responses"] if s[0] in "45"}
        assert documented == ERRORS.get((method, path), set()), (method, path)
        for status in documented:
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert schema["$ref"].rsplit("/", 1)[-1] in {
                "ErrorMessage", "ValidationFailed", "Unavailable"}


def test_429_and_503_document_retry_after(spec):
    for path in ("/api/chat", "/api/query"):
        for status in ("429", "503"):
            assert "Retry-After" in spec["paths"][path]["post"]["responses"][status]["headers"]


def test_live_schema_carries_this_servers_limits(spec):
    parts = spec["components"]["schemas"]
    rows = parts["QueryRequest"]["properties"]["max_rows"]["anyOf"][0]
    assert rows == {"type": "integer", "minimum": 1, "maximum": MAX_ROWS}
    dataset = parts["ChatRequest"]["properties"]["dataset"]["anyOf"][0]
    assert dataset["enum"] == ["penguins", "gapminder", "flights"]


def test_paging_is_documented(spec):
    op = spec["paths"]["/api/conversations"]["get"]
    params = {p["name"]: p["schema"] for p in op["parameters"]}
    assert params["limit"]["maximum"] == 500 and params["offset"]["minimum"] == 0
    assert set(op["responses"]["200"]["headers"]) == {"X-Total-Count", "Link"}

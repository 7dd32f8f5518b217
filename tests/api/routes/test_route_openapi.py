"""/openapi.json as a client (or a generator of clients) sees it: every operation
describes its success body and every error status the route can give."""

from __future__ import annotations

import pytest
from route_helpers import MAX_ROWS

# Every route that needs sign-in answers 401 (no or bad credentials) and 403 (not
# allowed; a cookie request without its CSRF token), and 503 (the database that holds
# tokens and sessions is down).
SIGNED_IN = {"401", "403", "503"}
ERRORS = {
    ("post", "/api/chat"): SIGNED_IN | {"400", "404", "413", "422", "429"},
    ("post", "/api/query"): SIGNED_IN | {"400", "413", "422", "429"},
    ("get", "/api/conversations"): SIGNED_IN | {"422"},
    ("get", "/api/conversations/{conversation_id}"): SIGNED_IN | {"404", "422"},
    ("delete", "/api/conversations/{conversation_id}"): SIGNED_IN | {"404", "422"},
    ("post", "/api/conversations/{conversation_id}/rerun"): SIGNED_IN | {"400", "404", "413",
                                                           "422", "429"},
    ("get", "/api/datasets"): SIGNED_IN,
    ("get", "/api/suggestions"): SIGNED_IN,
    ("get", "/readyz"): {"503"},
    ("get", "/api/auth/config"): {"503"},
    ("post", "/api/auth/setup"): {"400", "403", "413", "422", "503"},
    ("post", "/api/auth/login"): {"400", "401", "403", "413", "422", "429", "503"},
    ("post", "/api/auth/logout"): SIGNED_IN,
    ("get", "/api/auth/me"): SIGNED_IN,
    ("get", "/api/tokens"): SIGNED_IN | {"422"},
    ("post", "/api/tokens"): SIGNED_IN | {"400", "404", "413", "422"},
    ("delete", "/api/tokens/{token_id}"): SIGNED_IN | {"404", "422"},
    ("get", "/api/admin/users"): SIGNED_IN,
    ("post", "/api/admin/users"): SIGNED_IN | {"400", "409", "413", "422"},
    ("patch", "/api/admin/users/{user_id}"): SIGNED_IN | {"400", "404", "409", "413", "422"},
    ("get", "/api/admin/audit"): SIGNED_IN | {"422"},
}
PUBLIC = {("get", "/healthz"), ("get", "/readyz"), ("get", "/metrics"),
          ("get", "/api/auth/config"), ("post", "/api/auth/setup"), ("post", "/api/auth/login")}


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
        ("get", "/healthz"), ("get", "/metrics")}


def test_every_route_but_the_public_ones_needs_a_token_or_a_session(spec):
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer"
    assert schemes["session"] == {**schemes["session"], "in": "cookie", "name": "corral_session"}
    for method, path, op in operations(spec):
        needed = op.get("security") or []
        assert (needed == []) == ((method, path) in PUBLIC), (method, path)


def test_every_success_has_a_body_schema(spec):
    for method, path, op in operations(spec):
        ok = next(op["responses"][s] for s in ("200", "201", "204") if s in op["responses"])
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
    for path in ("/api/chat", "/api/query", "/api/auth/login"):
        for status in ("429", "503"):
            assert "Retry-After" in spec["paths"][path]["post"]["responses"][status]["headers"]


def test_401_documents_www_authenticate(spec):
    assert "WWW-Authenticate" in spec["paths"]["/api/auth/me"]["get"]["responses"]["401"]["headers"]


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


def test_the_document_and_its_page_are_for_signed_in_clients(api, spec):
    """A signed-in client reads both; anonymous ones get 401 (test_route_sign_in_required),
    since the narrowed document names the installed datasets."""
    assert spec["components"]["schemas"]["ChatRequest"]["properties"]["dataset"]
    page = api.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert "/openapi.json" in page.text
    anonymous = api.get("/openapi.json", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert api.get("/redoc").status_code == 404

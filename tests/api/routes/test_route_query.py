"""POST /api/query as a client sees it: strict types, the MAX_ROWS bound, invalid
Unicode in code, and (bubblewrap) real runs."""

from __future__ import annotations

import pytest
from route_helpers import MAX_ROWS, fields, send

SQL = "SELECT 1 AS one"


@pytest.mark.parametrize(("body", "field"), [
    ({"language": "rust", "code": "fn main(){}"}, "language"),
    ({"language": "sql", "code": ""}, "code"),
    ({"language": "sql", "code": "x" * 100001}, "code"),
    ({"language": "sql", "code": SQL, "max_rows": 0}, "max_rows"),
    ({"language": "sql", "code": SQL, "max_rows": MAX_ROWS + 1}, "max_rows"),
    # strict types: neither a boolean nor a numeric string nor a float is a row count
    ({"language": "sql", "code": SQL, "max_rows": True}, "max_rows"),
    ({"language": "sql", "code": SQL, "max_rows": False}, "max_rows"),
    ({"language": "sql", "code": SQL, "max_rows": "5"}, "max_rows"),
    ({"language": "sql", "code": SQL, "max_rows": 2.5}, "max_rows"),
    ({"language": "sql", "code": 7}, "code"),
    ({"language": "sql", "code": "SELECT '\u0000'"}, "code"),
])
def test_validation_errors_name_the_field(api, body, field):
    assert field in fields(api.post("/api/query", json=body))


@pytest.mark.bwrap
def test_an_integral_float_is_an_integer_as_in_json_schema(api):
    run = api.post("/api/query", json={"language": "sql", "code": "SELECT * FROM penguins",
                                       "max_rows": 3.0})
    assert run.status_code == 200 and run.json()["row_count"] == 3


def test_lone_surrogate_in_code_is_422(api):
    for raw in ('{"language": "sql", "code": "SELECT \'\\ud800\'"}',
                '{"language": "python", "code": "result = \'\\udfff\'"}',
                '{"language": "\\ud800", "code": "SELECT 1"}'):
        response = send(api, "/api/query", raw)
        assert fields(response), raw


@pytest.mark.bwrap
def test_max_rows_within_the_bound_runs(api):
    response = api.post("/api/query", json={"language": "sql", "code": "SELECT * FROM penguins",
                                            "max_rows": MAX_ROWS})
    assert response.status_code == 200
    run = response.json()
    assert run["status"] == "ok" and run["row_count"] == MAX_ROWS and run["truncated"] is True
    assert "stdout" not in run  # absent, never null, when nothing was printed


@pytest.mark.bwrap
def test_a_failing_query_is_a_200_run_with_an_error(api):
    run = api.post("/api/query", json={"language": "sql", "code": "SELECT nope FROM penguins"})
    assert run.status_code == 200
    body = run.json()
    assert body["status"] == "error" and body["error"]["type"] == "sql_error"


def test_get_is_405(api):
    response = api.get("/api/query")
    assert response.status_code == 405 and response.headers["allow"] == "POST"


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_max_rows_is_422_not_500(api, value):
    response = send(api, "/api/query", f'{{"language": "sql", "code": "SELECT 1", '
                                       f'"max_rows": {value}}}')
    assert fields(response) == ["max_rows"]

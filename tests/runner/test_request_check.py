"""The runner's fast request check agrees with jsonschema on runner/schema.json."""

from __future__ import annotations

import pytest

from runner.contract import make_request, request_error
from runner.request_check import request_problem

GOOD = make_request("r1", "python", "result = 1", 200, 5000)

CASES = [
    GOOD,
    {k: v for k, v in GOOD.items() if k != "max_output_bytes"},
    {**GOOD, "max_rows": 10.0},
    {**GOOD, "max_rows": True},
    {**GOOD, "max_rows": 10001},
    {**GOOD, "timeout_ms": 99},
    {**GOOD, "timeout_ms": 600001},
    {**GOOD, "language": "SQL"},
    {**GOOD, "version": "1"},
    {**GOOD, "version": 1.0},
    {**GOOD, "run_id": ""},
    {**GOOD, "run_id": "x" * 65},
    {**GOOD, "run_id": 7},
    {**GOOD, "code": "x" * 100_001},
    {**GOOD, "code": None},
    {**GOOD, "max_output_bytes": 1023},
    {**GOOD, "extra": 1},
    {k: v for k, v in GOOD.items() if k != "language"},
    [],
    "text",
    None,
]


@pytest.mark.parametrize("request_", CASES)
def test_same_verdict_as_jsonschema(request_):
    expected, got = request_error(request_), request_problem(request_)
    assert (expected is None) == (got is None), (expected, got)
    if expected and isinstance(request_, dict):
        field = expected.split("'")[1]
        if field != "(root)":  # jsonschema reports missing/extra fields at the root
            assert f"'{field}'" in got

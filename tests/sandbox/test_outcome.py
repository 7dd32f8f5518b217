"""How an ended sandbox becomes a result (no sandbox needed): every exit state maps to
the status and message a person sees, and every result is schema-valid."""

from __future__ import annotations

import json
import signal

import pytest

from app.executors.outcome import Ending, result_from
from runner.contract import failed_result, make_request, ok_result, result_error

REQUEST = make_request("r1", "sql", "SELECT 1", 10, 1000)


def outcome(**kw) -> dict:
    result = result_from(REQUEST, Ending(**{"stdout": b"", **kw}))
    assert result_error(result) is None
    assert result["run_id"] == "r1"
    return result


def test_the_runners_answer_wins():
    answer = ok_result("r1", [{"name": "x", "type": "INTEGER"}], [[1]], False, 3)
    assert outcome(stdout=json.dumps(answer).encode() + b"\n", exit_code=0) == answer


def test_the_runners_own_failure_is_kept():
    answer = failed_result("r1", "error", "sql_error", "no such column nope", 3)
    assert outcome(stdout=json.dumps(answer).encode(), exit_code=0) == answer


@pytest.mark.parametrize(
    "kw, status, words",
    [
        ({"output_exceeded": True, "stdout": b"x" * 100}, "output_limit", "bytes of output"),
        ({"timed_out": True}, "timeout", "1000 ms"),
        ({"exit_code": -signal.SIGXCPU}, "timeout", "1000 ms"),
        ({"exit_code": 137, "oom_killed": True}, "oom", "SANDBOX_MEMORY_LIMIT"),
        ({"exit_code": 1, "stderr_tail": b"Traceback...\nMemoryError\n"}, "oom", "memory"),
        ({"exit_code": 3, "stderr_tail": b"boom: it broke"}, "crashed", "code 3 without an answer: boom: it broke"),
        ({"exit_code": -signal.SIGSEGV}, "crashed", "SIGSEGV"),
        ({"exit_code": 0}, "crashed", "nothing on stdout"),
        ({"exit_code": 0, "stdout": b"\xff\xfe"}, "crashed", "not valid UTF-8"),
        ({"exit_code": 0, "stdout": b"[" * 100000}, "crashed", "not one JSON object"),
        ({"exit_code": 0, "stdout": b'{"status": "ok"}'}, "crashed", "breaks the runner contract"),
    ],
)
def test_exit_states_map_to_statuses(kw, status, words):
    result = outcome(**kw)
    assert result["status"] == status
    assert words in result["error"]["message"]
    assert result["rows"] == [] and result["columns"] == []


def test_a_timeout_wins_over_partial_output():
    answer = ok_result("r1", [], [], False, 1)
    result = outcome(stdout=json.dumps(answer).encode()[:10], timed_out=True)
    assert result["status"] == "timeout"


def _answer(**fields) -> bytes:
    answer = ok_result("r1", [{"name": "x", "type": "INTEGER"}], [[1]], False, 3)
    answer.update(fields)
    return json.dumps(answer).encode()


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"run_id": "r2"}, "run_id"),
        ({"status": "unavailable", "columns": [], "rows": [], "row_count": 0,
          "error": {"type": "sandbox_unavailable", "message": "x"}}, "server's to give"),
        ({"status": "timeout", "columns": [], "rows": [], "row_count": 0,
          "error": {"type": "sql_error", "message": "x"}}, "error type"),
        ({"status": "error", "error": {"type": "sql_error", "message": "x"}}, "with a table"),
        ({"row_count": 2}, "row_count 2 for 1 rows"),
        ({"rows": [[1]] * 11, "row_count": 11}, "at most 10"),
        ({"truncated": True}, "truncated with 1 rows"),
        ({"rows": [[1, 2]]}, "2 cells for 1 columns"),
        ({"rows": [[[1]]]}, "runner contract"),
        ({"stdout": "x" * 70001}, "runner contract"),
    ],
)
def test_an_answer_that_does_not_fit_the_request_is_crashed(fields, words):
    result = outcome(stdout=_answer(**fields), exit_code=0, elapsed_ms=50)
    assert result["status"] == "crashed"
    assert words in result["error"]["message"]


def test_the_server_keeps_the_shorter_timing():
    assert outcome(stdout=_answer(elapsed_ms=10**9), exit_code=0, elapsed_ms=50)[
        "elapsed_ms"] == 50

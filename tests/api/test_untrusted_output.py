"""The sandbox's output is untrusted: Python code that writes its own "result" to the
runner's result pipe, through the public HTTP API, on each real executor. The server
owns every identifier it records; an answer that does not fit the request it sent
is reported as a sandbox failure (status crashed), never a 500, never stored as sent.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from agent_server import RunningServer, server_settings

RUNNER_IMAGE = os.environ.get("RUNNER_IMAGE", "corral/runner:latest")

# Finds the runner's result writer (its real stdout) and the request's run_id, as an
# attacker inside the runner process can; `forge(answer, exit=True)` writes `answer`
# as the one result line and ends the process before the runner writes its own.
FORGE = """
import gc, json, os
from runner.main import ResultWriter
writer = next(o for o in gc.get_objects() if isinstance(o, ResultWriter))
RUN_ID = writer.run_id
def answer(**fields):
    base = {"version": 1, "run_id": RUN_ID, "status": "ok",
            "columns": [{"name": "x", "type": "INTEGER"}], "rows": [[1]], "row_count": 1,
            "truncated": False, "elapsed_ms": 1, "error": None}
    base.update(fields)
    return base
def forge(message, end=True):
    data = message if isinstance(message, (bytes, str)) else json.dumps(message)
    data = data.encode() if isinstance(data, str) else data
    os.write(writer._fd, data + b"\\n")
    if end:
        os._exit(0)
"""

FORGERIES = {
    "foreign run_id": 'forge(answer(run_id="0" * 32))',
    "run_id with bad characters": 'forge(answer(run_id="../../etc"))',
    "status only the server gives": 'forge(answer(status="rejected", columns=[], rows=[], '
                                    'row_count=0, error={"type": "rejected", "message": "x"}))',
    "ok with an error": 'forge(answer(error={"type": "python_error", "message": "x"}))',
    "error without one": 'forge(answer(status="error", columns=[], rows=[], row_count=0))',
    "row_count lie": "forge(answer(row_count=5))",
    "more rows than max_rows": "forge(answer(rows=[[i] for i in range(50)], row_count=50))",
    "truncated lie": "forge(answer(truncated=True))",
    "row wider than columns": "forge(answer(rows=[[1, 2]]))",
    "nested cell": 'forge(answer(rows=[[{"a": 1}]]))',
    "wrong types": 'forge(answer(row_count="1", elapsed_ms=-5))',
    "extra field": 'forge(dict(answer(), audit="forged"))',
    "huge column name": 'forge(answer(columns=[{"name": "n" * 100000, "type": "INTEGER"}]))',
    "too many columns": 'forge(answer(columns=[{"name": str(i), "type": "INTEGER"} '
                        'for i in range(600)], rows=[[0] * 600]))',
    "printed twice": "forge(answer(), end=False)",
    "two answers then exit": "forge(answer(), end=False)\nforge(answer())",
    "not JSON": 'forge(b"\\x00garbage")',
}


@pytest.fixture(
    scope="module",
    params=[pytest.param("bwrap", marks=pytest.mark.bwrap),
            pytest.param("docker", marks=pytest.mark.docker)],
)
def server(request, tmp_path_factory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp(f"untrusted-{request.param}")
    settings = server_settings(tmp, execution_mode=request.param, runner_image=RUNNER_IMAGE,
                               max_rows=20, run_timeout_ms=20000)
    with RunningServer(settings) as s:
        s.db = tmp / "corral.db"
        yield s


@pytest.fixture(scope="module")
def client(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=60) as c:
        yield c


def _audit(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT run_id, status FROM runs").fetchall()


def _query(client: httpx.Client, code: str) -> dict:
    response = client.post("/api/query", json={"language": "python", "code": FORGE + code,
                                               "max_rows": 10})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("code", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_answer_is_a_sandbox_failure(server, client, code):
    before = set(_audit(server.db))
    result = _query(client, code)
    assert result["status"] == "crashed", result
    assert result["error"]["type"] == "crashed"
    assert result["rows"] == [] and result["columns"] == []
    assert "forged" not in json.dumps(result)
    new = set(_audit(server.db)) - before
    assert len(new) == 1
    run_id, status = new.pop()
    assert (run_id, status) == (result["run_id"], "crashed")
    assert len(run_id) == 32 and run_id != "0" * 32  # the server's own id


def test_reusing_another_runs_id_is_not_a_500(server, client):
    first = client.post("/api/query", json={"language": "sql", "code": "SELECT 1 AS x"}).json()
    code = f'forge(answer(run_id="{first["run_id"]}"))'
    result = _query(client, code)
    assert result["status"] == "crashed" and result["run_id"] != first["run_id"]
    ids = [run_id for run_id, _ in _audit(server.db)]
    assert len(ids) == len(set(ids))


def test_a_believable_forgery_is_only_a_table_the_code_could_make_anyway(server, client):
    # Same run_id, consistent shape: indistinguishable from `result = ...`, and stored
    # under the server's id with the server's timing.
    result = _query(client, "forge(answer(elapsed_ms=10**9))")
    assert result["status"] == "ok" and result["rows"] == [[1]]
    assert result["elapsed_ms"] < 10**9


def test_user_prints_before_the_real_answer_do_not_count(client):
    code = ('print(json.dumps(answer(run_id="0" * 32)))\n'
            "import sys; sys.stderr.write('{\"status\": \"ok\"}')\n"
            "result = {'y': [2]}")
    result = _query(client, code)
    assert result["status"] == "ok" and result["rows"] == [[2]]
    assert '"0000' in result["stdout"]


def test_the_server_still_answers_afterwards(client):
    result = client.post("/api/query", json={"language": "sql", "code": "SELECT 42 AS x"}).json()
    assert result["status"] == "ok" and result["rows"] == [[42]]

"""Bad input to the runner: always one clean invalid_request result that names the problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from runner_harness import DATASETS, REPO, run_raw

from runner.contract import make_request, result_error

GOOD = make_request("r1", "sql", "SELECT 1 AS one", 10, 5000)


def invalid(stdin: bytes) -> str:
    result = run_raw(stdin)
    assert result["status"] == "error", result
    assert result["error"]["type"] == "invalid_request"
    assert result["rows"] == [] and result["columns"] == []
    return result["error"]["message"]


def test_not_json():
    assert "not valid JSON" in invalid(b"{'version': 1")


def test_invalid_utf8():
    assert "UTF-8" in invalid(b'{"version": 1, "code": "\xff\xfe"}')


def test_huge_json_is_refused_without_reading_it_all():
    huge = json.dumps({**GOOD, "code": "x" * (3 * 1024 * 1024)}).encode()
    assert "larger than" in invalid(huge)


def test_empty_stdin():
    assert "no request" in invalid(b"")


def test_not_an_object():
    assert "(root)" in invalid(b"[1, 2]")


@pytest.mark.parametrize(("change", "field"), [
    ({"language": "r"}, "language"),
    ({"max_rows": 0}, "max_rows"),
    ({"max_rows": "10"}, "max_rows"),
    ({"timeout_ms": 10}, "timeout_ms"),
    ({"version": 2}, "version"),
    ({"run_id": "has space"}, "run_id"),
    ({"code": ""}, "code"),
    ({"max_output_bytes": 10}, "max_output_bytes"),
    ({"surprise": True}, "surprise"),
])
def test_bad_field_is_named(change, field):
    message = invalid(json.dumps({**GOOD, **change}).encode())
    assert f"'{field}'" in message


def test_missing_field_is_named():
    request = dict(GOOD)
    del request["code"]
    assert "'code'" in invalid(json.dumps(request).encode())


def test_run_id_is_echoed_even_when_invalid():
    result = run_raw(json.dumps({**GOOD, "max_rows": -1, "run_id": "keep-me"}).encode())
    assert result["run_id"] == "keep-me"


def test_request_from_env_var():
    result = run_raw(b"", env={"RUNNER_REQUEST": json.dumps(GOOD)})
    assert result["status"] == "ok" and result["rows"] == [[1]]


def test_missing_datasets_is_unavailable(tmp_path):
    result = run_raw(json.dumps(GOOD).encode(), env={"CORRAL_DATA_DIR": str(tmp_path)})
    assert result["status"] == "unavailable"
    assert result["error"]["type"] == "sandbox_unavailable"
    assert "CORRAL_DATA_DIR" in result["error"]["message"]


def test_isolated_flags_of_the_image_entrypoint():
    """`python -I -B -m runner` (as in the image): no env vars needed but CORRAL_DATA_DIR."""
    proc = subprocess.run(
        [sys.executable, "-I", "-B", "-m", "runner"], input=json.dumps(GOOD).encode(), cwd=REPO,
        check=False,
        env={"CORRAL_DATA_DIR": str(DATASETS), "PATH": os.environ.get("PATH", "")},
        capture_output=True, timeout=60,
    )
    result = json.loads(proc.stdout)
    assert result_error(result) is None and result["rows"] == [[1]]


def test_answers_without_waiting_for_stdin_to_close():
    """Docker attach streams cannot always half-close: a complete object is enough."""
    env = {**os.environ, "CORRAL_DATA_DIR": str(DATASETS)}
    env.pop("RUNNER_REQUEST", None)
    proc = subprocess.Popen([sys.executable, "-m", "runner"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, cwd=REPO, env=env)
    try:
        proc.stdin.write(json.dumps(GOOD).encode())
        proc.stdin.flush()  # and do not close it
        line = proc.stdout.readline()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.stdin.close()
        proc.stdout.close()
    assert json.loads(line)["rows"] == [[1]]


def test_integral_float_is_an_integer():
    result = run_raw(json.dumps({**GOOD, "max_rows": 1.0}).encode())
    assert result["status"] == "ok" and result["rows"] == [[1]]

"""The built runner image, run the way the Docker executor runs it (hardened flags)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid

import pytest

from runner.contract import make_request, result_error

IMAGE = os.environ.get("RUNNER_IMAGE", "corral/runner:latest")
pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def image() -> str:
    if shutil.which("docker") is None:
        pytest.skip("docker is not installed")
    probe = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True,
                           check=False)
    if probe.returncode != 0:
        pytest.skip(f"image {IMAGE} is not built: run `make images` first")
    return IMAGE


def run_in_image(image: str, language: str, code: str, **kw) -> dict:
    name = f"corral-runner-test-{uuid.uuid4().hex[:12]}"
    request = make_request("img1", language, code, kw.get("max_rows", 50),
                           kw.get("timeout_ms", 10000))
    cmd = ["docker", "run", "--rm", "-i", "--name", name, "--network", "none", "--read-only",
           "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--pids-limit", "64",
           "--memory", "512m", "--memory-swap", "512m", "--cpus", "0.5",
           "--tmpfs", "/tmp:rw,noexec,nosuid,size=64m", image]
    try:
        proc = subprocess.run(cmd, input=json.dumps(request).encode(), capture_output=True,
                              timeout=120, check=False)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    result = json.loads(proc.stdout)
    assert result_error(result) is None, result_error(result)
    return result


def test_sql_in_the_image(image):
    result = run_in_image(image, "sql", "SELECT continent, count(DISTINCT country) AS countries "
                          "FROM gapminder GROUP BY continent ORDER BY continent")
    assert result["status"] == "ok", result["error"]
    assert result["rows"] == [["Africa", 52], ["Americas", 25], ["Asia", 33], ["Europe", 30],
                              ["Oceania", 2]]


def test_python_in_the_image_is_unprivileged_and_data_is_read_only(image):
    code = (
        "import os\n"
        "try:\n"
        "    open('/data/penguins.parquet', 'ab')\n"
        "    wrote = 'yes'\n"
        "except OSError as e:\n"
        "    wrote = type(e).__name__\n"
        "result = {'uid': os.getuid(), 'wrote': wrote, 'flights': len(flights)}"
    )
    result = run_in_image(image, "python", code)
    assert result["status"] == "ok", result["error"]
    assert result["rows"] == [[10001, "PermissionError", 336776]]


def test_duckdb_escape_in_the_image(image):
    result = run_in_image(image, "sql", "SELECT * FROM read_csv('/etc/passwd')")
    assert result["status"] == "error" and result["error"]["type"] == "not_allowed"

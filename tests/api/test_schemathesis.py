"""Schemathesis against a real agent server: every check (response schema conformance,
negative data rejection, positive data acceptance, unsupported methods, ...) on every
operation of the live OpenAPI document, signed in with an admin's API token (every
route is reachable, and the public ones answer with or without it), with bubblewrap sandboxes running the code it
generates and the UI mounted at / (as a venv deployment serves it).

The number of examples per operation is bounded (SCHEMATHESIS_MAX_EXAMPLES, default
below) so the run stays within a couple of minutes; the seed is fixed so a failure
reproduces, and SCHEMATHESIS_SEED picks another for a wider search.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from agent_server import ROOT, RunningServer, server_settings

pytestmark = pytest.mark.bwrap

MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25")
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261130")


def test_schemathesis_finds_nothing(tmp_path):
    settings = server_settings(tmp_path, ui_dir=ROOT / "app" / "ui", max_rows=50)
    st = Path(sys.executable).with_name("schemathesis")
    report = ROOT / "build" / "schemathesis"
    report.mkdir(parents=True, exist_ok=True)
    with RunningServer(settings) as server:
        run = subprocess.run(
            [str(st), "run", f"{server.url}/openapi.json", "--checks", "all",
             "--mode", "all", "--max-examples", MAX_EXAMPLES, "--seed", SEED,
             "--workers", "1", "--header", f"Authorization: Bearer {server.token}", "--generation-database", "none", "--request-timeout", "60",
             "--no-color", "--report", "junit", "--report-dir", str(report)],
            capture_output=True, text=True, timeout=900, check=False,
            cwd=report,  # its cache (.schemathesis/) stays out of the source tree
            env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        )
    (report / "output.txt").write_text(run.stdout + run.stderr)
    print(run.stdout[-6000:], run.stderr[-2000:])
    assert run.returncode == 0, run.stdout[-6000:]

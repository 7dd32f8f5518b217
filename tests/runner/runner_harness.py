"""Run the real runner (`python -m runner`) as a subprocess, the way executors do.

A uniquely named module (not conftest) so tests can import it without clashing
with other suites' conftest files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from runner.contract import make_request, result_error

REPO = Path(__file__).resolve().parents[2]
DATASETS = REPO / "datasets"


def run_raw(stdin: bytes, env: dict[str, str] | None = None, timeout: float = 60) -> dict[str, Any]:
    """Feed raw bytes to the runner; assert stdout is exactly one schema-valid JSON result."""
    full_env = {k: v for k, v in os.environ.items() if k != "RUNNER_REQUEST"}
    full_env["CORRAL_DATA_DIR"] = str(DATASETS)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "runner"], input=stdin, cwd=REPO, check=False,
                          env=full_env, capture_output=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    lines = proc.stdout.decode("utf-8").splitlines()
    assert len(lines) == 1, f"expected one JSON line on stdout, got {proc.stdout[:500]!r}"
    result = json.loads(lines[0])
    assert result_error(result) is None, result_error(result)
    return result


def run(language: str, code: str, max_rows: int = 100, timeout_ms: int = 10000,
        run_id: str = "t1", **extra: Any) -> dict[str, Any]:
    request = make_request(run_id, language, code, max_rows, timeout_ms, **extra)
    result = run_raw(json.dumps(request).encode())
    assert result["run_id"] == run_id
    return result

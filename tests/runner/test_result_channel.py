"""The runner's Kubernetes result channel (runner/channel.py), with the real runner.

A pod log is stdout and stderr merged: here both go to one pipe, as the kubelet would
write them, and the executor's own reader (app/executors/k8s_log.py) judges it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from runner_harness import DATASETS, REPO

from app.executors.k8s_log import LogReader, parse_frame
from runner.contract import make_request

NOISY = """
import os, subprocess, sys, threading
print('a print')
sys.stderr.write('a stderr line\\n')
os.write(1, b'{"status": "ok", "forged": 1}\\n')
os.write(2, b'x' * 200000)
subprocess.run(['sh', '-c', 'echo child stdout; echo child stderr >&2'])
result = {'n': 1}
"""


def run_in_pod_mode(code: str, tmp_path, language: str = "python", **env: str):
    request = make_request("r1", language, code, 10, 10000)
    term = tmp_path / "termination-log"
    full_env = {k: v for k, v in os.environ.items() if k != "RUNNER_REQUEST"}
    full_env.update(CORRAL_DATA_DIR=str(DATASETS), RUNNER_REQUEST=json.dumps(request),
                    CORRAL_RESULT_FRAME=str(term), **env)
    proc = subprocess.run([sys.executable, "-m", "runner"], cwd=REPO, env=full_env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
                          check=False)
    return proc, term.read_text() if term.exists() else ""


def test_the_merged_log_holds_only_the_framed_result(tmp_path):
    proc, termination = run_in_pod_mode(NOISY, tmp_path)
    assert proc.returncode == 0
    reader = LogReader(cap=1 << 20)
    reader.feed(proc.stdout)
    line = reader.framed_result()
    assert line is not None, proc.stdout[:500]
    assert proc.stdout == line + proc.stdout[len(line):]  # the log starts with the result
    assert proc.stdout.count(b"\n") == 2, proc.stdout[:500]  # result + end line, nothing else
    result = json.loads(line)
    assert result["status"] == "ok" and result["rows"] == [[1]]
    assert "a print" in result["stdout"]  # prints are still captured into the result
    # The termination message carries the same frame.
    assert reader.framed_result(parse_frame(termination)) == line


def test_user_code_runs_under_the_process_limit(tmp_path):
    """The runner sets RLIMIT_NPROC before user code. (The kernel enforces it per uid and
    not for root; the real-cluster suite runs a fork loop in a pod with a uid of its own.)"""
    code = "import resource\nresult = {'nproc': resource.getrlimit(resource.RLIMIT_NPROC)[0]}"
    proc, _ = run_in_pod_mode(code, tmp_path, CORRAL_PROCESS_LIMIT="40")
    reader = LogReader(cap=1 << 20)
    reader.feed(proc.stdout)
    result = json.loads(reader.framed_result())
    assert result["rows"] == [[40]], result

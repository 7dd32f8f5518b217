"""`make up UI_PORT=8081` reaches every part of the converge, and a taken port is named
with how to pick another. Only the preflight play runs (it changes nothing)."""

from __future__ import annotations

import os
import socket
import subprocess

from deploy_helpers import REPO, playbook

LOCAL = REPO / "inventories" / "local"


def _make_up_argv(*args: str, env: dict | None = None) -> str:
    dry = subprocess.run(["make", "-n", "up", *args], cwd=REPO, capture_output=True, text=True,
                         check=True, env=dict(os.environ, **(env or {})))
    return next(line for line in dry.stdout.splitlines() if "ansible-playbook" in line)


def test_make_up_passes_ui_port_and_bind_from_the_command_line_and_environment():
    assert "-e corral_ui_port=8081" in _make_up_argv("UI_PORT=8081")
    assert "-e corral_ui_bind=0.0.0.0" in _make_up_argv("UI_BIND=0.0.0.0")
    assert "-e corral_ui_port=9091" in _make_up_argv(env={"UI_PORT": "9091"})
    if "UI_PORT" not in os.environ:
        assert "corral_ui_port" not in _make_up_argv()  # the inventory's value stands


def test_the_port_check_looks_at_the_given_port_and_says_how_to_pick_another():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = playbook("playbooks/preflight.yml", LOCAL, "-e", f"corral_ui_port={port}",
                       timeout=300)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-2000:]
    assert f"Port {port} is already taken" in out
    assert "make up UI_PORT=8081" in out
    assert "Port 8080" not in out

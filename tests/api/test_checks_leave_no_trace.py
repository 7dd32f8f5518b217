"""A deployment's own checks (make smoke, the smoke play's corral.deploy.query) leave no
conversation in anyone's history: scripts/smoke.py against a real agent server."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from agent_server import ROOT, RunningServer, server_settings

pytestmark = pytest.mark.bwrap


def test_smoke_leaves_no_conversation_behind(tmp_path):
    with RunningServer(server_settings(tmp_path)) as s:
        smoke = subprocess.run([sys.executable, str(ROOT / "scripts" / "smoke.py"), "--url", s.url,
                                "--wait", "60"], capture_output=True, text=True, timeout=300,
                               check=False, env={**os.environ, "CORRAL_TOKEN": s.token})
        assert smoke.returncode == 0, smoke.stdout + smoke.stderr
        assert "3/3 canonical prompts passed" in smoke.stdout
        assert httpx.get(f"{s.url}/api/conversations", headers=s.headers).json() == []

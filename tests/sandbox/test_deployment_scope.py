"""Cleanup touches only what its deployment made: the start-up sweep and `make clean`
remove this deployment's leftover sandboxes and leave another Corral's on the same engine."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest
from sandbox_helpers import REPO, sandbox_settings

from app.executors import make_executor

pytestmark = pytest.mark.docker
RUNNER_IMAGE = os.environ.get("RUNNER_IMAGE", "corral/runner:latest")


def _leftover(deployment: str) -> str:
    """An ended sandbox container labelled as `deployment`'s (as a crashed server leaves)."""
    return subprocess.run(
        ["docker", "run", "-d", "--label", "io.corral.sandbox=runner",
         "--label", f"io.corral.deployment={deployment}", "--network", "none",
         "--entrypoint", "true", RUNNER_IMAGE],
        capture_output=True, text=True, check=True).stdout.strip()


def _exists(cid: str) -> bool:
    return subprocess.run(["docker", "inspect", cid], capture_output=True,
                          check=False).returncode == 0


@pytest.fixture
def deployments():
    mine, theirs = f"mine-{uuid.uuid4().hex[:8]}", f"theirs-{uuid.uuid4().hex[:8]}"
    made = {mine: _leftover(mine), theirs: _leftover(theirs)}
    subprocess.run(["docker", "wait", *made.values()], capture_output=True, check=True)
    yield mine, theirs, made
    subprocess.run(["docker", "rm", "-f", *made.values()], capture_output=True, check=False)


async def test_the_sweep_removes_only_its_own_deployments_sandboxes(deployments):
    mine, theirs, made = deployments
    executor = make_executor(sandbox_settings("docker", deployment_id=mine))
    try:
        assert await executor.sweep() >= 1
    finally:
        await executor.close()
    assert not _exists(made[mine])
    assert _exists(made[theirs])


def test_make_clean_removes_only_its_own_deployments_sandboxes(deployments):
    mine, theirs, made = deployments
    dry = subprocess.run(["make", "-n", "clean", f"DEPLOYMENT_ID={mine}"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in dry.splitlines() if "docker ps" in ln)
    subprocess.run(line, shell=True, check=True, cwd=REPO)
    assert not _exists(made[mine])
    assert _exists(made[theirs])

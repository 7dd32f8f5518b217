"""Fixtures of the deployment tests (helpers in deploy_helpers.py)."""

from __future__ import annotations

import uuid

import pytest
from deploy_helpers import BASE_IMAGE, SANDBOX_FLAGS, docker


@pytest.fixture(scope="module")
def debian_container():
    """A fresh Debian 12 (no systemd, no Docker) that stays up for the module's tests."""
    name = f"corral-deploy-test-{uuid.uuid4().hex[:8]}"
    docker(
        "run", "-d", "--init", "--name", name, "--label", "io.corral.test=deploy",
        *SANDBOX_FLAGS,
        # A host whose agent may make cgroups (as on a real server): bwrap mode refuses to
        # run without a sandbox-wide memory and process limit (app/executors/confinement.py).
        "--cgroupns", "host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
        "--tmpfs", "/run", "--tmpfs", "/tmp", BASE_IMAGE, "sleep", "infinity",
    )
    try:
        yield name
    finally:
        docker("rm", "-f", "-v", name, check=False)

"""compose.datasets.yaml: an operator's datasets folder is mounted read-only into the agent
and named to the docker executor by its host path; without the folder, compose says
which variable to set. `docker compose config` only: nothing starts."""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml
from deploy_helpers import REPO

pytestmark = pytest.mark.docker


def config(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "CORRAL_DATASETS_DIR"}
    return subprocess.run(
        ["docker", "compose", "-f", "compose.yaml", "-f", "compose.datasets.yaml", "config"],
        cwd=REPO, env={**clean, **env}, capture_output=True, text=True, timeout=60,
        check=False)


def test_the_folder_is_mounted_read_only_and_given_to_the_runners():
    proc = config(CORRAL_DATASETS_DIR="/srv/corral-data")
    assert proc.returncode == 0, proc.stderr
    agent = yaml.safe_load(proc.stdout)["services"]["agent-server"]
    assert agent["environment"]["RUNNER_DATASETS_SOURCE"] == "/srv/corral-data"
    assert agent["environment"]["DATASETS_PATH"] == "/data"
    data = [v for v in agent["volumes"] if v["target"] == "/data"]
    assert data == [{"type": "bind", "source": "/srv/corral-data", "target": "/data",
                     "read_only": True, "bind": {}}]


def test_without_the_folder_compose_names_the_variable():
    proc = config()
    assert proc.returncode != 0
    assert "CORRAL_DATASETS_DIR" in proc.stderr and "holding manifest.json" in proc.stderr

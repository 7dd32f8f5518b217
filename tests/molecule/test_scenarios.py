"""Run every Molecule scenario (molecule/<name>/molecule.yml) as one test each.

`molecule test -s NAME` runs from the repository root: create -> prepare -> converge ->
idempotence (a second converge must report changed=0) -> verify (testinfra) -> destroy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))
VENV_BIN = Path(sys.executable).parent
TAIL_LINES = 80


def molecule_env() -> dict[str, str]:
    env = dict(os.environ)
    # The full-stack scenarios publish the UI on the host's loopback: pick free ports.
    env.setdefault("CORRAL_FULLSTACK_PORT", str(free_port()))
    env.setdefault("CORRAL_FULLSTACK_VENV_PORT", str(free_port()))
    # molecule calls ansible-config/ansible-playbook by name: the venv's bin must be on PATH.
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("MOLECULE_IMAGE", "corral/molecule-debian12:latest")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["PY_COLORS"] = "0"
    env["NO_COLOR"] = "1"
    return env


def docker_ready(env) -> str | None:
    """None when Docker and the Molecule image are there, else why not."""
    if shutil.which("docker") is None:
        return "docker CLI not installed"
    probe = subprocess.run(
        ["docker", "image", "inspect", env["MOLECULE_IMAGE"]], capture_output=True, check=False
    )
    if probe.returncode != 0:
        return f"image {env['MOLECULE_IMAGE']} missing: run `make molecule-image`"
    return None


@pytest.mark.molecule
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario, tmp_path):
    env = molecule_env()
    missing = docker_ready(env)
    if missing:
        pytest.fail(f"cannot run Molecule scenario {scenario}: {missing}")
    log = tmp_path / f"molecule-{scenario}.log"
    started = time.monotonic()
    with log.open("w") as handle:
        proc = subprocess.run(
            [str(VENV_BIN / "molecule"), "test", "-s", scenario],
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            check=False,
        )
    elapsed = time.monotonic() - started
    # The wall time goes to the test output (CI budgets it); it is never asserted on.
    print(f"molecule scenario {scenario}: rc={proc.returncode} wall_time_s={elapsed:.1f}")
    if proc.returncode != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-TAIL_LINES:])
        pytest.fail(f"molecule test -s {scenario} failed (rc {proc.returncode}):\n{tail}")

"""Helpers of the deployment tests: throwaway Debian 12 targets reached with the
community.docker.docker connection plugin, so these tests never converge the CI host."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BASE_IMAGE = "corral/base:bookworm"  # the debootstrap base `make images` builds

# What a venv deployment with bubblewrap needs from a container: user namespaces
# (SYS_ADMIN, no seccomp filter) and a /proc it may mount again (systempaths).
SANDBOX_FLAGS = [
    "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--security-opt", "systempaths=unconfined",
]

# Playbook variables of the venv target the deployment tests converge (bubblewrap, no
# Docker engine inside the throwaway container).
VENV_VARS = {
    "corral_environment": "venv",
    "corral_app_mode": "venv",
    "corral_execution_mode": "bwrap",
    "corral_manage_docker": False,
    "corral_ui_port": 8080,
}


@contextlib.contextmanager
def debian_target() -> Iterator[str]:
    """A fresh Debian 12 container (no systemd, no Docker), removed at the end."""
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


def docker(*args: str, check: bool = True) -> str:
    return subprocess.run(
        ["docker", *args], check=check, capture_output=True, text=True
    ).stdout.strip()


def write_inventory(path: Path, host: str, group_vars: dict) -> Path:
    inventory = {
        "corral": {
            "hosts": {
                host: {
                    "ansible_connection": "community.docker.docker",
                    "ansible_python_interpreter": "/usr/bin/python3",
                }
            },
            "vars": group_vars,
        }
    }
    path.write_text(yaml.safe_dump(inventory))
    return path



def playbook(
    playbook_path: str, inventory: Path | str, *extra: str, timeout: int = 900,
    env: dict | None = None,
):
    """ansible-playbook from the repository, its ansible.cfg, output captured."""
    import os
    import sys

    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               **(env or {}))
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
         str(REPO / playbook_path), *extra],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )


def failure(proc: subprocess.CompletedProcess) -> str:
    """What a failed run said, for an assertion message: its fatal lines, then the output
    before the profile_tasks timing table (which would otherwise fill the tail)."""
    out = proc.stdout.split("TASKS RECAP")[0]
    fatal = [ln for ln in out.splitlines() if "fatal:" in ln or "FAILED!" in ln]
    return "\n".join(fatal)[-4000:] + "\n---\n" + out[-2000:] + proc.stderr[-1500:]


def recap(output: str, host: str) -> dict[str, int]:
    """The PLAY RECAP counters of one host: {'ok': .., 'changed': .., 'failed': ..}."""
    import re

    line = next(ln for ln in output.splitlines() if ln.startswith(host) and "ok=" in ln)
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def release_before_newest_migration(target: Path) -> tuple[Path, str]:
    """The source tree of the release before this checkout's newest schema migration (the
    first-parent commit before the one that brought the migration in, merges included),
    unpacked into `target` with this checkout's server wheelhouse (same pins: the tree
    builds its own wheelhouse when they differ). Returns (tree, migration file name).
    Skips, saying why, where the checkout has no such history (shallow clone, export)."""
    import shutil

    import pytest

    newest = max((REPO / "app" / "migrations" / "versions").glob("[0-9]*.py"))
    path = newest.relative_to(REPO).as_posix()
    log = subprocess.run(
        ["git", "log", "-m", "--first-parent", "--diff-filter=A", "--format=%H", "--", path],
        cwd=REPO, capture_output=True, text=True, check=False)
    added = log.stdout.split() if log.returncode == 0 else []
    if not added:
        pytest.skip(f"the upgrade test needs the git history that adds {path} "
                    f"(clone without --depth); git said: {log.stderr.strip()[:200]}")
    archive = subprocess.run(
        ["git", "archive", f"{added[-1]}^1", "app", "runner", "datasets", "scripts",
         "pyproject.toml"], cwd=REPO, capture_output=True, check=True).stdout
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    subprocess.run([str(REPO / "scripts" / "wheelhouse.sh"), "server"], cwd=REPO, check=True,
                   capture_output=True)
    shutil.copytree(REPO / "build" / "wheels" / "server", target / "build" / "wheels" / "server")
    return target, newest.name

"""Deployment times, printed as JSON (a benchmark, not a test: no thresholds here).

For compose and venv mode: a fresh Debian 12 container (the systemd image Molecule
uses; nothing of Corral in it, no Docker) is converged with site.yml until the smoke
question gets a table (= a working UI), then converged again (a no-op: time and changed
count). Image builds are measured apart: compose mode loads the `make airgap` tarballs.

    .venv/bin/python bench/deploy_times.py [--modes compose,venv] [--skip-build]

Targets (issue 3): fresh to working <= 300 s excluding image builds; re-converge <= 60 s
with changed=0.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import converge_ci

SYSTEMD_IMAGE = "corral/molecule-debian12:latest"
PLATFORM = [  # the Molecule platform settings (DESIGN.md), plus what each mode needs
    "--cgroupns", "host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run", "--tmpfs", "/run/lock",
    "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--cap-add", "SYS_PTRACE",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
]
MODE = {
    "compose": {
        "flags": ["-v", "/var/lib/docker", "-v", f"{REPO}/build/airgap:/airgap:ro"],
        "vars": {
            "corral_environment": "docker", "corral_app_mode": "compose",
            "corral_images_mode": "airgap", "corral_images_airgap_dir": "/airgap",
            "corral_manage_docker": True, "corral_docker_restart_on_change": True,
        },
    },
    "venv": {
        "flags": ["--security-opt", "systempaths=unconfined"],
        "vars": {
            "corral_environment": "venv", "corral_app_mode": "venv",
            "corral_execution_mode": "bwrap", "corral_manage_docker": False,
        },
    },
}


def sh(*cmd: str, check: bool = True) -> str:
    return subprocess.run(cmd, check=check, capture_output=True, text=True).stdout.strip()


def build_images() -> dict:
    """Build the three images from scratch (--no-cache) under a throwaway tag."""
    base = sh(str(REPO / "scripts" / "base-image.sh"))
    tag = f"bench-{uuid.uuid4().hex[:6]}"
    out = {}
    for group in ("runner", "server"):
        sh(str(REPO / "scripts" / "wheelhouse.sh"), group)
    for name, dockerfile in (("runner", "runner/Dockerfile"),
                             ("agent-server", "app/Dockerfile"), ("ui", "app/ui/Dockerfile")):
        start = time.monotonic()
        sh("docker", "build", "-q", "--no-cache", "-f", str(REPO / dockerfile),
           "--build-arg", f"BASE_IMAGE={base}", "-t", f"corral/{name}:{tag}", str(REPO))
        out[name] = round(time.monotonic() - start, 1)
        sh("docker", "rmi", f"corral/{name}:{tag}", check=False)
    out["total"] = round(sum(out.values()), 1)
    return out


def converge_fresh(mode: str, workdir: Path) -> dict:
    name = f"corral-bench-{mode}-{uuid.uuid4().hex[:6]}"
    sh("docker", "run", "-d", "--name", name, *PLATFORM, *MODE[mode]["flags"],
       SYSTEMD_IMAGE, "/sbin/init")
    try:
        inventory = workdir / f"{name}.yml"
        hostvars = {"ansible_connection": "community.docker.docker",
                    "ansible_python_interpreter": "/usr/bin/python3"}
        inventory.write_text(json.dumps({"corral": {
            "hosts": {name: hostvars}, "vars": {**MODE[mode]["vars"], "corral_ui_port": 8080},
        }}))
        runs = []
        for _ in range(2):
            start = time.monotonic()
            summary = converge_ci.converge(inventory, artifacts=workdir / "artifacts", quiet=True)
            runs.append({"seconds": round(time.monotonic() - start, 1), "ok": summary["ok"],
                         "changed": summary["changed"].get(name, 0),
                         "changed_tasks": summary["changed_tasks"]})
        return {
            "fresh_to_working_ui_s": runs[0]["seconds"], "fresh_ok": runs[0]["ok"],
            "fresh_changed": runs[0]["changed"],
            "reconverge_s": runs[1]["seconds"], "reconverge_ok": runs[1]["ok"],
            "reconverge_changed": runs[1]["changed"],
            "reconverge_changed_tasks": runs[1]["changed_tasks"],
        }
    finally:
        sh("docker", "rm", "-f", "-v", name, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="compose,venv")
    parser.add_argument("--skip-build", action="store_true", help="do not time image builds")
    args = parser.parse_args()
    workdir = REPO / "build" / "bench-deploy"
    workdir.mkdir(parents=True, exist_ok=True)
    result: dict = {"targets": {"fresh_to_working_ui_s": 300, "reconverge_s": 60,
                                "reconverge_changed": 0}}
    if not args.skip_build:
        result["image_build_s"] = build_images()
    for mode in args.modes.split(","):
        result[mode] = converge_fresh(mode, workdir)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

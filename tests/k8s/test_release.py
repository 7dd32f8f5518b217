"""Publishing: `make release` prints a helm command that installs exactly its images, the
release workflow's chart package points at the tag's images, and the workflows publish
what seed §E asks for (ui, agent-server, runner for amd64 and arm64; the chart as OCI).

`docker` is a stand-in here (no registry is reachable): a script that records pushes and
answers `inspect` with a digest. helm is the real binary; it renders what was printed.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
from pathlib import Path

import yaml
from test_k8s_chart import helm  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = "registry.example.com/acme/corral"
FAKE_DOCKER = """#!/bin/sh
echo "$@" >> "$DOCKER_CALLS"
if [ "$1" = inspect ]; then
  ref=$(echo "$@" | awk '{print $NF}'); repo=${ref%:*}
  echo "$repo@sha256:$(echo "$repo" | sha256sum | cut -c1-64)"
fi
"""


def images_in(manifests: str) -> set[str]:
    found = set()
    for doc in yaml.safe_load_all(manifests):
        spec = (doc or {}).get("spec") or {}
        pod = spec.get("template", {}).get("spec") if "template" in spec else spec
        for c in (pod or {}).get("containers", []):
            found.add(c["image"])
        for e in (pod or {}).get("containers", [{}])[0].get("env", []):
            if e["name"] == "RUNNER_IMAGE":
                found.add(e["value"])
    return found


def test_make_release_prints_a_helm_install_of_exactly_its_images(helm, tmp_path):  # noqa: F811
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    fake.write_text(FAKE_DOCKER)
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f"{fake.parent}:{os.environ['PATH']}", TAG="0.3.0",
               REGISTRY=REGISTRY, DOCKER_CALLS=str(tmp_path / "calls"))
    out = subprocess.run([str(ROOT / "scripts" / "k8s-release.sh")], env=env, text=True,
                         capture_output=True, check=True).stdout
    pushed = [ln.split()[1] for ln in (tmp_path / "calls").read_text().splitlines()
              if ln.startswith("push ")]
    assert sorted(pushed) == sorted(f"{REGISTRY}/{n}:0.3.0" for n in ("runner", "agent-server", "ui"))
    command = " ".join(ln.strip().rstrip("\\") for ln in out.split("helm upgrade", 1)[1].splitlines())
    args = shlex.split(command)
    assert args[:3] == ["--install", "corral", "charts/corral"]
    sets = [a for a in args[3:] if a not in ("--wait", "--create-namespace")]
    sets = [a for a in sets if a not in ("-n", "corral")]
    rendered = subprocess.run([helm, "template", "corral", str(ROOT / "charts" / "corral"),
                               *sets], text=True, capture_output=True, check=False)
    assert rendered.returncode == 0, rendered.stderr
    digests = {n: hashlib.sha256(f"{REGISTRY}/{n}\n".encode()).hexdigest()  # as FAKE_DOCKER
               for n in ("runner", "agent-server", "ui")}
    assert images_in(rendered.stdout) == {f"{REGISTRY}/{n}@sha256:{d}" for n, d in digests.items()}


def test_release_chart_package_points_at_the_tags_images(helm, tmp_path):  # noqa: F811
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "chart-package.py"),
                           "--tag", "v0.3.0", "--registry", "ghcr.io/acme/corral",
                           "--out", str(tmp_path), "--helm", helm],
                          text=True, capture_output=True, check=True)
    package = proc.stdout.strip()
    assert package.endswith("corral-0.3.0.tgz")
    rendered = subprocess.run([helm, "template", "corral", package], text=True,
                              capture_output=True, check=True).stdout
    assert images_in(rendered) == {f"ghcr.io/acme/corral/{n}:v0.3.0"
                                   for n in ("runner", "agent-server", "ui")}


def test_release_workflow_publishes_three_images_for_two_arches_and_the_chart():
    flow = yaml.safe_load((ROOT / ".github/workflows/release.yml").read_text())
    assert flow[True]["push"]["tags"] == ["v*"]  # PyYAML reads the key `on` as True
    matrix = flow["jobs"]["images"]["strategy"]["matrix"]
    assert set(matrix["image"]) == {"ui", "agent-server", "runner"}
    assert set(matrix["arch"]) == {"amd64", "arm64"}
    assert flow["env"]["REGISTRY"].startswith("ghcr.io/")
    chart_steps = " ".join(s.get("run", "") for s in flow["jobs"]["chart"]["steps"])
    assert "helm push" in chart_steps and "oci://ghcr.io/" in chart_steps
    ci = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    assert "pull_request" in ci[True]

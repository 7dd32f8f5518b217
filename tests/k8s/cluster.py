"""The real Kubernetes cluster behind every `k8s`-marked test: one per session.

`k8s_cluster` reuses a cluster that is already up (this checkout's or another's, found by
scripts/testcluster.sh), else builds and starts the project's own (tools/testcluster) and
stops it at the end. KUBECONFIG_K8S_TESTS=<path> points the tests at any other cluster
(kind, k3d, a managed one) instead; then images must already be there.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "testcluster.sh"


@dataclass(frozen=True)
class Cluster:
    kubeconfig: Path
    bin_dir: Path
    provider: str

    def _run(self, tool: str, args: tuple[str, ...], check: bool, input: str | None,
             timeout: float) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(self.bin_dir / tool), "--kubeconfig", str(self.kubeconfig),
                               *args], input=input, text=True, capture_output=True,
                              timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"{tool} {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        return proc

    def kubectl(self, *args: str, check: bool = True, input: str | None = None,
                timeout: float = 120) -> subprocess.CompletedProcess:
        return self._run("kubectl", args, check, input, timeout)

    def helm(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        return self._run("helm", args, check, None, timeout)

    @contextmanager
    def ui_forward(self, namespace: str, release: str) -> Iterator[str]:
        """The release's ui Service on a free local port (kubectl port-forward), as the URL
        a person would open; the forward ends with the block."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        forward = subprocess.Popen(
            [str(self.bin_dir / "kubectl"), "--kubeconfig", str(self.kubeconfig), "-n", namespace,
             "port-forward", "--address", "127.0.0.1", f"svc/{release}-ui", f"{port}:http"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            forward.terminate()
            forward.wait(10)


def images() -> dict[str, str]:
    """The images `make images` built for this run (Makefile exports them)."""
    return {name: os.environ.get(var, f"corral/{name}:latest") for name, var in
            (("runner", "RUNNER_IMAGE"), ("agent-server", "AGENT_IMAGE"), ("ui", "UI_IMAGE"))}


def _sh(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*args], cwd=ROOT, text=True, capture_output=True, check=False)


def _fail(what: str, proc: subprocess.CompletedProcess) -> None:
    pytest.fail(f"{what} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}",
                pytrace=False)


@pytest.fixture(scope="session")
def k8s_cluster():
    tools = _sh(str(ROOT / "scripts" / "k8s-tools.sh"))
    if tools.returncode:
        _fail("scripts/k8s-tools.sh", tools)
    bin_dir = Path(tools.stdout.strip())
    if os.environ.get("KUBECONFIG_K8S_TESTS"):
        yield Cluster(Path(os.environ["KUBECONFIG_K8S_TESTS"]), bin_dir, "external")
        return
    started = False
    if _sh(str(SCRIPT), "status").returncode != 0:
        for step in (["scripts/testcluster-build.sh"], [str(SCRIPT), "up"]):
            proc = _sh(*step)
            if proc.returncode:
                _fail(" ".join(step), proc)
        started = True
    kubeconfig = Path(_sh(str(SCRIPT), "kubeconfig").stdout.strip())
    proc = _sh(str(SCRIPT), "load", *images().values())
    if proc.returncode:
        _fail("loading the images into the cluster", proc)
    try:
        yield Cluster(kubeconfig, bin_dir, "testcluster")
    finally:
        if started and not os.environ.get("K8S_KEEP_CLUSTER"):
            _sh(str(SCRIPT), "down")

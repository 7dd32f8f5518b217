"""`make helm-install`, `make k8s-smoke` and `make helm-uninstall` on the real cluster, as a user
runs them after `make k8s-up`, with the Makefile's K8S_NAMESPACE and HELM_RELEASE overridden to
corral-smoke (so the run cannot touch a release named corral)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator

import pytest
from cluster import ROOT, Cluster, images

pytestmark = pytest.mark.k8s

NS = RELEASE = "corral-smoke"
KINDS = ("deploy,rs,pod,svc,job,cm,secret,sa,role,rolebinding,networkpolicy,resourcequota,"
         "pvc,ingress,poddisruptionbudget")


def make(cluster: Cluster, target: str) -> subprocess.CompletedProcess:
    """One make target; `-o bootstrap -o images`: the session already has both (and the
    images are already in the cluster), so make must not rebuild them here."""
    tag = images()["runner"].rsplit(":", 1)[1]
    env = dict(os.environ, KUBECONFIG=str(cluster.kubeconfig))
    env.pop("MAKEFLAGS", None)
    proc = subprocess.run(["make", "--no-print-directory", "-o", "bootstrap", "-o", "images", target,
                           f"TAG={tag}", f"K8S_NAMESPACE={NS}", f"HELM_RELEASE={RELEASE}"],
                          cwd=ROOT, env=env, text=True, capture_output=True, timeout=900, check=False)
    assert proc.returncode == 0, f"make {target} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(k8s_cluster: Cluster) -> Iterator[Cluster]:
    k8s_cluster.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait", timeout=300)
    make(k8s_cluster, "helm-install")
    yield k8s_cluster
    k8s_cluster.helm("uninstall", RELEASE, "-n", NS, "--wait", check=False)
    k8s_cluster.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false")


def test_helm_install_honours_the_namespace_and_release(installed: Cluster) -> None:
    releases = json.loads(installed.helm("list", "-A", "-o", "json").stdout)
    mine = [r for r in releases if r["name"] == RELEASE]
    assert [(r["namespace"], r["status"]) for r in mine] == [(NS, "deployed")], releases
    deploy = json.loads(installed.kubectl("get", "deploy", f"{RELEASE}-agent-server", "-n", NS,
                                          "-o", "json").stdout)
    image = deploy["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == images()["agent-server"], image


def test_k8s_smoke_and_helm_test_pass(installed: Cluster) -> None:
    out = make(installed, "k8s-smoke").stdout
    assert "k8s-smoke: SELECT 42 ran in a Kubernetes Job: [[42]]" in out, out[-3000:]
    assert "3/3 canonical prompts passed" in out and "k8s-smoke: OK" in out, out[-3000:]
    assert "Phase:          Succeeded" in installed.helm("test", RELEASE, "-n", NS, "--timeout", "3m").stdout


def test_helm_uninstall_leaves_nothing_of_the_release(installed: Cluster) -> None:
    make(installed, "helm-uninstall")
    # What Kubernetes itself puts in every namespace is all that may remain, once the
    # release's pods had time to terminate.
    own = {"configmap/kube-root-ca.crt", "serviceaccount/default"}
    deadline = time.monotonic() + 90
    while True:
        left = set(installed.kubectl("get", KINDS, "-n", NS, "-o", "name").stdout.split()) - own
        if not left or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert not left, left

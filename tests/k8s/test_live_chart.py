"""The Helm chart on the real cluster: install with defaults and with each ci/ values file,
helm test, the three canonical prompts through the ui Service, upgrade (also
--reuse-values), rollback, and an uninstall that leaves nothing of the release behind."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cluster import ROOT, Cluster, images

pytestmark = pytest.mark.k8s

CHART = ROOT / "charts" / "corral"
NS = "corral-live"
RELEASE = "corral"
# Every kind the chart can create: none may outlive `helm uninstall`.
KINDS = ("deploy,rs,pod,svc,job,cm,secret,sa,role,rolebinding,networkpolicy,resourcequota,"
         "pvc,ingress,poddisruptionbudget")


def image_values() -> list[str]:
    """Only what the issue allows beside the defaults: images and the ingress host."""
    args = []
    for key, name in (("runner", "runner"), ("agentServer", "agent-server"), ("ui", "ui")):
        repo, tag = images()[name].rsplit(":", 1)
        args += ["--set-string", f"images.{key}.repository={repo},images.{key}.tag={tag}",
                 "--set", f"images.{key}.pullPolicy=IfNotPresent"]
    return [*args, "--set", "ingress.host=corral.test"]


def install(cluster: Cluster, release: str, ns: str, *extra: str) -> None:
    cluster.helm("install", release, str(CHART), "-n", ns, "--create-namespace", "--wait",
                 "--timeout", "5m", *extra, *image_values())


def leftovers(cluster: Cluster, release: str, ns: str, wait_s: float = 90) -> str:
    """What of the release is still there once its pods had time to terminate."""
    deadline = time.monotonic() + wait_s
    while True:
        left = cluster.kubectl("get", KINDS, "-n", ns, "-o", "name", "-l",
                               f"app.kubernetes.io/instance={release}").stdout.strip()
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(1)


def automation_token(cluster: Cluster, release: str, ns: str) -> str:
    """A fresh API token for the release's automation user (scripts/k8s-token.sh: made by the
    agent's CLI in its pod, kept in the Secret helm test mounts). Sign-in is required, and a
    pod without persistence forgets its users when it restarts, so every check gets a new one."""
    env = dict(os.environ, KUBECONFIG=str(cluster.kubeconfig), K8S_NAMESPACE=ns, HELM_RELEASE=release)
    subprocess.run([str(ROOT / "scripts" / "k8s-token.sh")], env=env, check=True, timeout=120,
                   capture_output=True, text=True)
    secret = cluster.kubectl("get", "secret", f"{release}-automation-token", "-n", ns,
                             "-o", "jsonpath={.data.token}").stdout
    return base64.b64decode(secret).decode().strip()


def helm_test(cluster: Cluster, release: str, ns: str) -> str:
    automation_token(cluster, release, ns)
    return cluster.helm("test", release, "-n", ns, "--timeout", "3m").stdout


@pytest.fixture(scope="module")
def release(k8s_cluster: Cluster):
    k8s_cluster.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait")
    install(k8s_cluster, RELEASE, NS)
    yield k8s_cluster
    k8s_cluster.helm("uninstall", RELEASE, "-n", NS, "--wait", check=False)
    k8s_cluster.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false")


def test_default_install_is_available_and_helm_test_passes(release: Cluster):
    deploys = json.loads(release.kubectl("get", "deploy", "-n", NS, "-o", "json").stdout)["items"]
    assert {d["metadata"]["name"] for d in deploys} == {f"{RELEASE}-agent-server", f"{RELEASE}-ui"}
    for d in deploys:
        assert d["status"].get("availableReplicas", 0) == d["spec"]["replicas"], d["status"]
    out = helm_test(release, RELEASE, NS)
    assert "Phase:          Succeeded" in out or "Succeeded" in out, out


def test_canonical_prompts_through_the_ui_service(release: Cluster):
    token = automation_token(release, RELEASE, NS)
    with release.ui_forward(NS, RELEASE) as url:
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "smoke.py"), "--url",
                               url, "--wait", "120"],
                              env=dict(os.environ, CORRAL_TOKEN=token),
                              text=True, capture_output=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "3/3 canonical prompts passed" in proc.stdout, proc.stdout[-2000:]


PROBE = (Path(__file__).with_name("netprobe.py")).read_text()


def probe_pod(cluster: Cluster, name: str, labels: dict[str, str], targets: list) -> dict:
    """Run netprobe.py in a restricted pod with these labels; return what it could reach."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
           "spec": {"restartPolicy": "Never", "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "probe", "image": images()["runner"],
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["/opt/runner/venv/bin/python", "-c", PROBE, json.dumps(targets)],
                        "resources": {"limits": {"cpu": "200m", "memory": "128Mi"}},
                        "securityContext": {"allowPrivilegeEscalation": False,
                                            "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}}]}}
    cluster.kubectl("delete", "pod", name, "-n", NS, "--ignore-not-found", "--wait")
    cluster.kubectl("apply", "-n", NS, "-f", "-", input=json.dumps(pod))
    deadline, phase = time.monotonic() + 120, ""
    while phase not in ("Succeeded", "Failed") and time.monotonic() < deadline:
        time.sleep(1)
        phase = cluster.kubectl("get", "pod", name, "-n", NS, "-o", "jsonpath={.status.phase}").stdout
    out = cluster.kubectl("logs", "-n", NS, name).stdout
    assert phase == "Succeeded", f"probe pod {name}: {phase}\n{out[-2000:]}"
    cluster.kubectl("delete", "pod", name, "-n", NS, "--wait=false")
    return json.loads(out.strip().splitlines()[-1])


def network_targets(cluster: Cluster) -> list:
    def get(*args: str) -> str:
        return cluster.kubectl("get", *args).stdout.strip()

    def pod_ip(component: str) -> str:
        return get("pods", "-n", NS, "-l", f"app.kubernetes.io/component={component}",
                   "-o", "jsonpath={.items[0].status.podIP}")

    node_ip = get("nodes", "-o", "jsonpath={.items[0].status.addresses[?(@.type=='InternalIP')].address}")
    agent_svc = json.loads(get("svc", f"{RELEASE}-agent-server", "-n", NS, "-o", "json"))
    ui_svc = json.loads(get("svc", f"{RELEASE}-ui", "-n", NS, "-o", "json"))
    agent_port, ui_port = agent_svc["spec"]["ports"][0], ui_svc["spec"]["ports"][0]

    def pod_port(service: str) -> int:  # the Service's target port, resolved (it may be named)
        return int(get("endpointslices", "-n", NS, "-l", f"kubernetes.io/service-name={service}",
                       "-o", "jsonpath={.items[0].ports[0].port}"))

    kube_dns = get("svc", "kube-dns", "-n", "kube-system", "-o", "jsonpath={.spec.clusterIP}")
    dns_pod = get("pods", "-n", "kube-system", "-l", "k8s-app=kube-dns",
                  "-o", "jsonpath={.items[0].status.podIP}")
    return [
        ["dns-service", kube_dns, 53, "dns"],
        ["dns-pod", dns_pod, 53, "dns"],
        ["agent-service", agent_svc["spec"]["clusterIP"], agent_port["port"], "tcp"],
        ["agent-pod", pod_ip("agent-server"), pod_port(f"{RELEASE}-agent-server"), "tcp"],
        ["ui-service", ui_svc["spec"]["clusterIP"], ui_port["port"], "tcp"],
        ["ui-pod", pod_ip("ui"), pod_port(f"{RELEASE}-ui"), "tcp"],
        ["apiserver-service", "10.215.0.1" if cluster.provider == "testcluster"
         else get("svc", "kubernetes", "-n", "default", "-o", "jsonpath={.spec.clusterIP}"), 443, "tcp"],
        ["apiserver-node", node_ip, 6443, "tcp"],
        ["kubelet-node", node_ip, 10250, "tcp"],
    ]


def test_runner_pod_reaches_nothing(release: Cluster):
    """Measured from inside a pod with the runner's labels, against a control pod without
    them: the control shows each target answers, the runner reaches none of them."""
    policy = json.loads(release.kubectl("get", "networkpolicy", f"{RELEASE}-runner-deny-all",
                                        "-n", NS, "-o", "json").stdout)
    runner_labels = policy["spec"]["podSelector"]["matchLabels"]
    targets = network_targets(release)
    control = probe_pod(release, "netprobe-control", {"app": "netprobe"}, targets)
    runner = probe_pod(release, "netprobe-runner", runner_labels, targets)
    # The control is not selected by any policy of its own; the agent and ui accept only
    # their declared peers, so those are closed to it too.
    assert control["dns-service"] == "answered" and control["dns-pod"] == "answered", control
    assert control["apiserver-service"] == "open" and control["apiserver-node"] == "open", control
    assert control["kubelet-node"] == "open", control
    print("netprobe control:", json.dumps(control), "\nnetprobe runner:", json.dumps(runner))
    reached = {name: how for name, how in runner.items() if how in ("open", "answered")}
    assert reached == {}, f"runner pod reached {reached} (control: {control})"


def agent_env(cluster: Cluster) -> dict[str, str]:
    deploy = json.loads(cluster.kubectl("get", "deploy", f"{RELEASE}-agent-server", "-n", NS,
                                        "-o", "json").stdout)
    (container,) = [c for c in deploy["spec"]["template"]["spec"]["containers"]
                    if c["name"] == "agent-server"] or deploy["spec"]["template"]["spec"]["containers"][:1]
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def test_upgrade_reuse_values_and_rollback(release: Cluster):
    release.helm("upgrade", RELEASE, str(CHART), "-n", NS, "--wait", "--timeout", "5m",
                 "--set", "limits.maxRows=100", *image_values())
    assert agent_env(release)["MAX_ROWS"] == "100"
    release.helm("upgrade", RELEASE, str(CHART), "-n", NS, "--wait", "--timeout", "5m",
                 "--reuse-values", "--set", "limits.runTimeoutMs=6000")
    env = agent_env(release)
    assert (env["MAX_ROWS"], env["RUN_TIMEOUT_MS"]) == ("100", "6000")
    release.helm("rollback", RELEASE, "1", "-n", NS, "--wait", "--timeout", "5m")
    env = agent_env(release)
    assert (env["MAX_ROWS"], env["RUN_TIMEOUT_MS"]) == ("200", "5000")
    history = json.loads(release.helm("history", RELEASE, "-n", NS, "-o", "json").stdout)
    assert [h["status"] for h in history][-1] == "deployed" and len(history) == 4
    assert "Succeeded" in helm_test(release, RELEASE, NS)


def test_uninstall_leaves_nothing_of_the_release(release: Cluster):
    release.helm("uninstall", RELEASE, "-n", NS, "--wait", "--timeout", "3m")
    assert leftovers(release, RELEASE, NS) == ""
    assert release.kubectl("get", "pods", "-n", NS, "-o", "name").stdout.strip() == ""
    assert release.helm("list", "-n", NS, "-q").stdout.strip() == ""
    # helm's own release records (Secrets owner=helm) go too.
    assert release.kubectl("get", "secrets", "-n", NS, "-l", f"owner=helm,name={RELEASE}",
                           "-o", "name").stdout.strip() == ""


CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
# Prerequisites a user of each file provides: the Secret/PVC/RuntimeClass it names.
PREREQS = """
apiVersion: v1
kind: Secret
metadata: {name: corral-llm}
stringData: {LLM_API_KEY: test-key, api-key: test-key}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: corral-datasets}
spec:
  accessModes: [ReadOnlyMany]
  storageClassName: ""
  volumeName: corral-live-datasets
  resources: {requests: {storage: 1Gi}}
"""


def persistent_volumes(ns: str) -> str:
    """Two hostPath PVs (no provisioner in a test cluster): the datasets and the agent's state."""
    docs = []
    for name, mode, claim in (("corral-live-datasets", "ReadOnlyMany", "corral-datasets"),
                              ("corral-live-state", "ReadWriteOnce", None)):
        spec = {"capacity": {"storage": "2Gi"}, "accessModes": [mode], "storageClassName": "",
                "persistentVolumeReclaimPolicy": "Delete" if claim is None else "Retain",
                "hostPath": {"path": f"/tmp/{name}", "type": "DirectoryOrCreate"}}
        if claim:
            spec["claimRef"] = {"namespace": ns, "name": claim}
        docs.append(json.dumps({"apiVersion": "v1", "kind": "PersistentVolume",
                                "metadata": {"name": name}, "spec": spec}))
    return "\n---\n".join(docs)


@pytest.mark.parametrize("values", CI_VALUES, ids=[p.stem for p in CI_VALUES])
def test_install_with_ci_values(k8s_cluster: Cluster, values: Path):
    ns, rel = f"ci-{values.stem.removesuffix('-values')}"[:40], "corral"
    k8s_cluster.kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait")
    k8s_cluster.kubectl("create", "namespace", ns)
    try:
        if values.stem in ("digests-values", "volume-datasets-values", "oidc-values"):
            # digests: images of a registry this machine cannot reach; volume-datasets: a
            # gVisor runtime class, an LLM endpoint and storage this cluster does not have;
            # oidc: an identity provider this cluster does not have.
            # The API server must accept every object (server-side dry run, admission included).
            k8s_cluster.helm("install", rel, str(CHART), "-n", ns, "-f", str(values),
                             "--dry-run=server")
            return
        if values.stem == "volume-datasets-values":
            k8s_cluster.kubectl("delete", "pv", "corral-live-datasets", "corral-live-state",
                                "--ignore-not-found")
            k8s_cluster.kubectl("apply", "-f", "-", input=persistent_volumes(ns))
            k8s_cluster.kubectl("apply", "-n", ns, "-f", "-", input=PREREQS)
        install(k8s_cluster, rel, ns, "-f", str(values))
        if values.stem in ("default-values", "no-ingress-values"):
            assert "Succeeded" in helm_test(k8s_cluster, rel, ns)
        k8s_cluster.helm("uninstall", rel, "-n", ns, "--wait")
        assert leftovers(k8s_cluster, rel, ns) == ""
    finally:
        k8s_cluster.kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=false")

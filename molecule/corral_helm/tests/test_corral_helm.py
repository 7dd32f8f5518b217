"""Verify roles/corral_helm in render mode (no API server exists here; see molecule.yml).

Verified: the chart copied to the target, rendered there by the real helm with the
role's values (schema-checked); a bad value and a bad role argument fail clearly (in
converge.yml). Install, readiness wait, helm test, rollback and removal: tests/k8s/test_roles.py.
"""

import yaml

from app.executors.k8s_api import EXECUTOR_CALLS

testinfra_hosts = ["all"]


def docs(host):
    return [d for d in yaml.safe_load_all(host.file("/root/corral-rendered.yaml").content_string)
            if d]


def test_chart_copied(host):
    assert host.file("/opt/corral/chart/Chart.yaml").contains("name: corral")
    assert host.file("/opt/corral/chart/values.schema.json").exists


def test_values_reached_the_render(host):
    manifests = docs(host)
    ingress = next(d for d in manifests if d["kind"] == "Ingress")
    assert ingress["spec"]["rules"][0]["host"] == "corral.example.com"
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    agent = next(d for d in manifests if d["kind"] == "Deployment"
                 and d["metadata"]["name"].endswith("-agent-server"))
    env = {e["name"]: e.get("value") for e in agent["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MAX_ROWS"] == "100"


def test_role_is_namespaced_and_exact(host):
    """The rendered Role grants exactly the executor's calls (one list: app/executors/k8s_api.py)."""
    role = next(d for d in docs(host) if d["kind"] == "Role")
    assert role["metadata"]["namespace"] == "corral"
    granted = {(res, verb) for r in role["rules"] for res in r["resources"] for verb in r["verbs"]}
    assert granted == {(c.rbac_resource, c.verb) for c in EXECUTOR_CALLS}

"""Verify roles/preflight inside the Molecule instance (testinfra).

The role itself only reads; these tests run the module again on the instance, with
conditions changed, and check the messages a user would see.
"""

import json

from testinfra.modules.ansible import AnsibleException

testinfra_hosts = ["all"]


def preflight(host, **args):
    """Run corral.deploy.preflight on the instance (check mode, report only)."""
    args.setdefault("fail_on", "never")
    return host.ansible(
        "corral.deploy.preflight", json.dumps(args), check=True, become=False
    )


def test_netns_environment_passes_with_bwrap_and_ip(host):
    result = preflight(host, environment="netns", ports=[8080])
    assert result["problems"] == [], result["messages"]
    facts = result["preflight"]
    assert facts["os"]["id"] == "debian"
    assert facts["sandbox"]["bwrap_works"] is True
    assert facts["ports"]["8080"]["free"] is True


def test_taken_port_is_named_with_its_owner(host):
    host.run("nohup python3 -m http.server 8099 --bind 127.0.0.1 >/dev/null 2>&1 &")
    try:
        host.run("for i in $(seq 50); do ss -ltn | grep -q :8099 && break; sleep 0.1; done")
        result = preflight(host, environment="netns", ports=[8099])
        assert "Port 8099 is already taken by python3." in result["messages"][0]
    finally:
        host.run("pkill -f 'http.server 8099'")


def test_missing_docker_says_how_to_install_it(host):
    result = preflight(host, environment="local")
    docker = [p for p in result["problems"] if p["check"] == "docker"]
    assert docker and docker[0]["message"].startswith("Docker is not installed")
    assert "apt-get install -y docker.io" in docker[0]["fix"]


def run_failing(host, args):
    """Run the module expecting failure; return its result whether or not testinfra raises."""
    try:
        result = host.ansible("corral.deploy.preflight", args, check=True)
    except AnsibleException as exc:
        result = exc.result
    return result


def test_fail_on_errors_fails_with_the_fix(host):
    result = run_failing(host, json.dumps({"environment": "managed"}))
    assert "Preflight for environment 'managed' found" in result["msg"]
    assert "kubectl is not installed." in result["msg"]
    assert "Fix: Install kubectl" in result["msg"]


def test_unknown_environment_is_refused(host):
    result = run_failing(host, "environment=laptop")
    assert "value of environment must be one of" in result["msg"]
    assert "got: laptop" in result["msg"]

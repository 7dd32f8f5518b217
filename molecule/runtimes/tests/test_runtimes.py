"""Verify roles/runtimes with the minimal profile (+ python): Node.js came from Debian."""

import json

from testinfra.modules.ansible import AnsibleException

testinfra_hosts = ["all"]


def profile(host, **args):
    try:
        return host.ansible("corral.deploy.runtime_profile", json.dumps(args), check=True)
    except AnsibleException as exc:
        return exc.result


def test_node_is_installed_from_debian(host):
    assert host.package("nodejs").is_installed
    version = host.check_output("node --version")
    assert version.startswith("v") and int(version[1:].split(".")[0]) >= 18


def test_profile_now_reports_everything_installed(host):
    result = profile(host, profile="minimal", extra_runtimes=["python"], fail_on_missing=True)
    assert result.get("failed") is not True, result.get("msg")
    assert sorted(result["installed"]) == ["nodejs", "python"]
    assert result["missing"] == [] and result["outdated"] == []


def test_runtimes_outside_the_profile_were_not_installed(host):
    result = profile(host, profile="full")
    assert "go" in result["missing"] and "ruby" in result["missing"]
    assert "apt-get install -y golang-go" in result["install_commands"]


def test_missing_runtime_fails_with_the_install_command(host):
    result = profile(host, profile="docker", fail_on_missing=True)
    assert "Profile 'docker' is not complete" in result["msg"]
    assert "docker is missing (need >= 20.10): apt-get install -y docker.io" in result["msg"]

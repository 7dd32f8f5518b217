"""corral.deploy.runtime_profile: the profile data file and the resolution logic."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.corral.deploy.plugins.module_utils import profiles

DATA_FILE = (
    Path(__file__).resolve().parents[2]
    / "collections/ansible_collections/corral/deploy/data/runtime_profiles.yml"
)
DATA = yaml.safe_load(DATA_FILE.read_text())


def fake_runner(versions):
    """A command runner that answers each version command from a table (None = missing)."""

    def run(argv, timeout=10):
        output = versions.get(argv[0])
        if output is None:
            return None, "", f"{argv[0]}: command not found"
        return 0, output, ""

    return run


def test_every_profile_names_known_runtimes_with_sizes():
    assert set(DATA["profiles"]) == {"minimal", "web", "full", "docker", "k8s"}
    for name, profile in DATA["profiles"].items():
        assert profile["size_mb"] > 0, name
        assert set(profile["runtimes"]) <= set(DATA["runtimes"]), name
    for name, runtime in DATA["runtimes"].items():
        assert profiles.install_command(runtime), name


def test_installed_outdated_and_missing_are_told_apart():
    runner = fake_runner({"node": "v12.22.0\n", "python3": "Python 3.11.2\n"})
    report = profiles.resolve(DATA, "web", runner=runner)
    assert report["installed"] == ["python"]
    assert report["outdated"] == ["nodejs"]
    assert report["runtimes"]["nodejs"]["version"] == "12.22.0"
    assert report["install_commands"] == ["apt-get install -y nodejs"]


def test_missing_runtime_reports_the_install_command():
    report = profiles.resolve(DATA, "docker", runner=fake_runner({}))
    assert report["missing"] == ["docker"]
    assert report["apt_packages"] == ["docker.io"]
    assert report["install_commands"] == ["apt-get install -y docker.io"]


def test_k8s_tools_are_flagged_as_not_apt_installable():
    report = profiles.resolve(DATA, "k8s", runner=fake_runner({}))
    assert report["not_apt_installable"] == ["kubectl", "helm"]
    assert report["apt_packages"] == []


def test_unknown_profile_and_runtime_name_the_field():
    with pytest.raises(profiles.ProfileError, match="profile: unknown profile 'huge'"):
        profiles.resolve(DATA, "huge", runner=fake_runner({}))
    with pytest.raises(profiles.ProfileError, match="extra_runtimes: unknown runtime 'cobol'"):
        profiles.resolve(DATA, "web", extra=["cobol"], runner=fake_runner({}))


def test_module_reads_the_data_file_through_its_action_plugin(adhoc):
    result = adhoc("corral.deploy.runtime_profile", {"profile": "web"}, "--check")
    assert result["changed"] is False
    assert result["profile"]["runtimes"] == ["nodejs", "python"]
    assert result["runtimes"]["python"]["state"] == "installed"


def test_module_fail_on_missing_lists_the_commands(adhoc):
    result = adhoc(
        "corral.deploy.runtime_profile",
        {"profile": "k8s", "extra_runtimes": ["ruby"], "fail_on_missing": True},
        expect_rc=(0, 2),
    )
    if result.get("failed"):
        assert "Profile 'k8s' is not complete" in result["msg"]
    else:  # every runtime happens to be installed on this machine
        assert result["missing"] == [] and result["outdated"] == []

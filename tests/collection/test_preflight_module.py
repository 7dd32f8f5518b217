"""corral.deploy.preflight: the checks, fed with fixtures, and the module end to end."""

from __future__ import annotations

import shutil
import socket

import pytest
from ansible_collections.corral.deploy.plugins.module_utils import common
from ansible_collections.corral.deploy.plugins.module_utils import preflight_checks as checks


def test_os_release_is_parsed_and_old_versions_warned(tmp_path):
    release = tmp_path / "os-release"
    release.write_text('ID=debian\nVERSION_ID="11"\nPRETTY_NAME="Debian GNU/Linux 11"\n')
    report = checks.Report()
    checks.check_os(report, {"debian": "12"}, str(release))
    assert report.facts["os"] == {"id": "debian", "version": "11", "pretty_name": "Debian GNU/Linux 11"}
    assert report.problems[0]["severity"] == "warning"
    assert "older than the tested debian 12" in report.problems[0]["message"]


def test_resources_below_minimum_are_errors_with_fixes(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:        1024000 kB\nMemFree: 1 kB\n")
    report = checks.Report()
    minimums = {"cpus": 64, "memory_mb": 4096, "disk_gb": 10**6}
    checks.check_resources(report, minimums, str(tmp_path / "not" / "yet"), str(meminfo), cpus=2)
    by_check = {p["check"]: p for p in report.errors}
    assert by_check["cpus"]["message"] == "2 CPU(s) available, this environment needs at least 64."
    assert by_check["memory"]["message"] == "1000 MB of memory, this environment needs at least 4096 MB."
    assert "needs at least 1000000 GB" in by_check["disk"]["message"]
    assert report.facts["disk_path"] == str(tmp_path)  # nearest existing parent


def test_userns_switched_off_is_detected(tmp_path):
    (tmp_path / "sys/kernel").mkdir(parents=True)
    (tmp_path / "sys/kernel/unprivileged_userns_clone").write_text("0\n")
    assert checks.userns_enabled(str(tmp_path)) is False
    (tmp_path / "sys/kernel/unprivileged_userns_clone").write_text("1\n")
    assert checks.userns_enabled(str(tmp_path)) is True


def test_a_listening_port_is_found_and_its_owner_named():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        report = checks.Report()
        checks.check_ports(report, [port], allowed_owners=[])
        assert report.facts["ports"][str(port)]["free"] is False
        owner = report.facts["ports"][str(port)]["owner"]
        assert owner != "unknown"
        assert report.errors[0]["message"] == f"Port {port} is already taken by {owner}."
        allowed = checks.Report()
        checks.check_ports(allowed, [port], allowed_owners=[owner])
        assert allowed.problems == []


def test_free_port_is_reported_free():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    report = checks.Report()
    checks.check_ports(report, [port], allowed_owners=[])
    assert report.facts["ports"][str(port)] == {"free": True, "owner": None}


def test_version_comparison():
    assert common.version_at_least("20.10.24+dfsg1", "20.10")
    assert not common.version_at_least("19.03", "20.10")
    assert common.version_at_least("3.11", "3.11.0")
    assert not common.version_at_least(None, "1")


def test_run_reports_missing_commands_and_timeouts():
    assert common.run(["no-such-command-corral"])[0] is None
    rc, _, err = common.run(["sleep", "5"], timeout=0.2)
    assert rc is None and "did not answer within" in err


def test_module_reports_problems_without_failing_when_asked(adhoc):
    result = adhoc(
        "corral.deploy.preflight",
        {"environment": "venv", "minimums": {"cpus": 4096}, "fail_on": "never"},
        "--check",
    )
    assert result["changed"] is False
    assert result["preflight"]["minimums"]["cpus"] == 4096
    cpus = result["preflight"]["cpus"]
    expected = f"{cpus} CPU(s) available, this environment needs at least 4096."
    assert any(m.startswith(expected) for m in result["messages"]), result["messages"]
    assert result["ansible_facts"]["corral_preflight"]["environment"] == "venv"


def test_module_fails_with_one_line_per_problem(adhoc):
    result = adhoc(
        "corral.deploy.preflight",
        {"environment": "venv", "minimums": {"cpus": 4096, "memory_mb": 10**9}},
        expect_rc=(2,),
    )
    assert result["msg"].startswith("Preflight for environment 'venv' found")
    lines = [line for line in result["msg"].splitlines() if line.startswith("- ")]
    assert len(lines) >= 2 and all(" Fix: " in line for line in lines)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"environment": "laptop"}, "value of environment must be one of"),
        ({"environment": "local", "ports": ["http"]}, "ports"),
        ({"environment": "local", "minimums": {"ram": 1}}, "minimums: unknown key(s) ['ram']"),
    ],
)
def test_bad_arguments_name_the_field(adhoc, args, expected):
    result = adhoc("corral.deploy.preflight", args, expect_rc=(2,))
    assert expected in result["msg"]


@pytest.mark.skipif(shutil.which("docker") is None, reason="needs the docker CLI")
def test_docker_daemon_down_says_how_to_start_it(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-daemon.sock")
    report = checks.Report()
    checks.check_docker(report, "20.10", timeout=10)
    assert report.facts["docker"] == {"installed": True, "reachable": False}
    problem = report.errors[0]
    assert problem["message"].startswith("The Docker daemon does not answer:")
    assert "service docker start" in problem["fix"]

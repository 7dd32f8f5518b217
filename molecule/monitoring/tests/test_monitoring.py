"""Verify roles/monitoring: Prometheus runs on the configured address only, with Corral's
scrape job and alert rules loaded, and the rules' promtool unit tests pass on the target."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from corral_checks import get_json

testinfra_hosts = ["all"]

# host_vars in molecule.yml: the host without systemd runs on a non-default port and retention.
PORTS = {"corral-molecule-monitoring": 9090, "corral-molecule-monitoring-nosystemd": 9091}
RETENTION = {"corral-molecule-monitoring": "15d", "corral-molecule-monitoring-nosystemd": "2d"}
DOWN_MINUTES = {"corral-molecule-monitoring": 5, "corral-molecule-monitoring-nosystemd": 2}


@pytest.fixture(scope="module")
def port(host):
    return PORTS[host.backend.get_hostname()]


def daemons(host):
    """Prometheus processes; a second one would mean a restart left the old one running."""
    return host.process.filter(user="prometheus", comm="prometheus")


def test_prometheus_runs_once(host, port):
    assert host.service("prometheus").is_running
    assert len(daemons(host)) == 1


def test_listens_on_the_configured_address_only(host, port):
    assert host.socket(f"tcp://127.0.0.1:{port}").is_listening
    mine = [s for s in host.socket.get_listening_sockets() if s.endswith(f":{port}")]
    assert mine == [f"tcp://127.0.0.1:{port}"]


def test_daemon_arguments(host, port):
    [daemon] = daemons(host)
    args = daemon.args
    assert f"--web.listen-address=127.0.0.1:{port}" in args
    assert f"--storage.tsdb.retention.time={RETENTION[host.backend.get_hostname()]}" in args


@pytest.mark.parametrize("path", ["/etc/prometheus/prometheus.yml",
                                  "/etc/prometheus/corral_alerts.yml",
                                  "/etc/prometheus/tests/corral_alerts_test.yml"])
def test_config_files_owner_and_mode(host, path):
    f = host.file(path)
    assert f.is_file
    assert (f.user, f.group, f.mode) == ("root", "prometheus", 0o640)


def test_config_is_valid(host):
    host.run_expect([0], "promtool check config /etc/prometheus/prometheus.yml")


def test_alert_rules_unit_tests_pass(host):
    out = host.run("promtool test rules /etc/prometheus/tests/corral_alerts_test.yml")
    assert out.rc == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_rules_api_lists_the_corral_alerts(host, port):
    groups = get_json(host, f"http://127.0.0.1:{port}/api/v1/rules")["data"]["groups"]
    corral = [g for g in groups if g["name"] == "corral"]
    assert corral, [g["name"] for g in groups]
    names = {r["name"] for r in corral[0]["rules"]}
    assert names == {"CorralDown", "CorralSandboxFailures", "CorralCapacityRejections",
                     "CorralSlowRuns"}
    assert all(r["health"] != "err" for r in corral[0]["rules"]), corral[0]["rules"]
    down = next(r for r in corral[0]["rules"] if r["name"] == "CorralDown")
    assert down["duration"] == 60 * DOWN_MINUTES[host.backend.get_hostname()]


def test_targets_api_has_the_corral_job(host, port):
    targets = get_json(host, f"http://127.0.0.1:{port}/api/v1/targets")["data"]["activeTargets"]
    corral = [t for t in targets if t["labels"]["job"] == "corral"]
    assert [t["scrapeUrl"] for t in corral] == ["http://127.0.0.1:18000/metrics"]

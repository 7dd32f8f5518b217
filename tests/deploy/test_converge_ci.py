"""scripts/converge_ci.py runs site.yml through ansible-runner and fails on any failed or
unreachable host; the job_events of a second run prove the first one converged
(nothing changes).

Target: a throwaway Debian 12 container (community.docker.docker connection), converged
into the venv environment (bubblewrap sandboxes, agent under start-stop-daemon because
there is no systemd). Honest: a real converge of a real Debian, never the CI host; fast
enough: no engine-in-engine and no image loading is needed for venv mode.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_helpers import REPO, VENV_VARS, docker, failure, playbook, write_inventory

sys.path.insert(0, str(REPO / "scripts"))
import converge_ci

pytestmark = [pytest.mark.docker, pytest.mark.bwrap]


@pytest.fixture(scope="module")
def two_runs(debian_container, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("converge-ci")
    inventory = write_inventory(tmp / "hosts.yml", debian_container, VENV_VARS)
    first = converge_ci.converge(inventory, artifacts=tmp / "artifacts", quiet=True)
    second = converge_ci.converge(inventory, artifacts=tmp / "artifacts", quiet=True)
    return debian_container, first, second


def test_first_run_converges_the_host(two_runs):
    host, first, _ = two_runs
    assert first["ok"], first
    assert first["changed"].get(host, 0) > 0
    assert any("Make the release current" in t for t in first["changed_tasks"])


def test_second_run_changes_nothing_according_to_its_job_events(two_runs):
    host, _, second = two_runs
    assert second["ok"], second
    events = converge_ci.job_events(
        Path(second["artifacts"])
    )
    changed = [
        e["event_data"]["task"]
        for e in events
        if e["event"] == "runner_on_ok" and e["event_data"]["res"].get("changed")
    ]
    assert changed == []
    stats = next(e for e in events if e["event"] == "playbook_on_stats")["event_data"]
    assert stats["changed"].get(host, 0) == 0
    assert host in stats["ok"]


def test_the_smoke_query_in_the_run_got_a_table(two_runs):
    _, _, second = two_runs
    events = converge_ci.job_events(Path(second["artifacts"]))
    smoke = [
        e["event_data"]["res"]
        for e in events
        if e["event"] == "runner_on_ok"
        and e["event_data"]["task"] == "Ask a canonical question through the UI's port"
    ]
    assert smoke and smoke[0]["row_count"] >= 1 and smoke[0]["status"] == "ok"


def test_an_unreachable_host_fails_the_run_with_its_name(tmp_path):
    inventory = write_inventory(tmp_path / "hosts.yml", "corral-no-such-container", VENV_VARS)
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "converge_ci.py"), "-i", str(inventory),
         "--artifacts", str(tmp_path / "artifacts"), "--quiet"],
        check=False, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 1
    summary = json.loads(proc.stdout)
    assert "corral-no-such-container" in summary["unreachable"] or \
        "corral-no-such-container" in summary["failures"]
    assert "corral-no-such-container" in proc.stderr


# --- upgrade and rollback on the same converged container (venv releases) -------------

def current_release(host: str) -> str:
    return docker("exec", host, "readlink", "/opt/corral/current").rsplit("/", 1)[-1]


def penguins_count(host: str) -> list:
    # Signed in with the automation token the corral_app role keeps on the host.
    script = (
        "import json,urllib.request;"
        "t=open('/opt/corral/secrets/automation-token').read().strip();"
        "r=urllib.request.Request('http://127.0.0.1:8080/api/query',data=json.dumps("
        "{'language':'sql','code':'SELECT count(*) AS n FROM penguins'}).encode(),"
        "headers={'Content-Type':'application/json','Authorization':'Bearer '+t});"
        "print(urllib.request.urlopen(r,timeout=60).read().decode())"
    )
    return json.loads(docker("exec", host, "python3", "-c", script))["rows"]


@pytest.fixture(scope="module")
def upgraded(two_runs, tmp_path_factory):
    host = two_runs[0]
    inventory = write_inventory(
        tmp_path_factory.mktemp("upgrade") / "hosts.yml", host, VENV_VARS
    )
    original = current_release(host)
    out = playbook("playbooks/upgrade.yml", inventory, "-e", "corral_app_version=v2")
    assert out.returncode == 0, failure(out)
    return host, inventory, original


def test_upgrade_switches_to_the_new_release(upgraded):
    host, _, original = upgraded
    assert current_release(host) == "v2" != original
    assert penguins_count(host) == [[344]]


def test_failed_upgrade_rolls_back_automatically_and_says_why(upgraded):
    host, inventory, _ = upgraded
    # A release whose agent cannot open its database never becomes ready.
    out = playbook(
        "playbooks/upgrade.yml", inventory, "-e", "corral_app_version=broken",
        "-e", "corral_database_url=sqlite:////nonexistent/dir/corral.db",
        "-e", "corral_app_ready_timeout=20",
    )
    assert out.returncode != 0
    assert "Upgrade failed and was rolled back" in out.stdout, failure(out)
    assert current_release(host) == "v2"
    assert penguins_count(host) == [[344]]


def test_rollback_playbook_returns_to_a_named_release(upgraded):
    host, inventory, original = upgraded
    out = playbook(
        "playbooks/rollback.yml", inventory, "-e", f"corral_app_rollback_version={original}"
    )
    assert out.returncode == 0, failure(out)
    assert current_release(host) == original
    assert penguins_count(host) == [[344]]

"""site.yml converged a fresh Debian container into venv mode (no Docker): one release,
`current` pointing at it, the agent under systemd as its own user with bubblewrap
sandboxes, and a real browser on the host gets a table."""

import os
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from browser import penguins_table_in_browser
from corral_checks import PENGUINS_SQL, assert_penguins_table, browser_user, get_json, post_json

HOST_URL = f"http://127.0.0.1:{os.environ.get('CORRAL_FULLSTACK_VENV_PORT', '18081')}"


def test_no_docker_on_this_host(host):
    assert not host.exists("docker")


def test_current_points_at_a_complete_release(host):
    current = host.file("/opt/corral/current")
    assert current.is_symlink
    assert host.file(f"{current.linked_to}/.complete").exists
    assert host.file(f"{current.linked_to}/venv/bin/uvicorn").exists


def test_agent_runs_under_systemd_as_its_own_user(host):
    assert host.service("corral-agent").is_running
    assert host.service("corral-agent").is_enabled
    pid = host.check_output("systemctl show -p MainPID --value corral-agent")
    assert host.check_output(f"ps -o user= -p {pid}") == "corral"


def test_environment_file_is_not_world_readable(host):
    env = host.file("/opt/corral/current/corral.env")
    assert env.mode == 0o640 and env.group == "corral"
    assert "EXECUTION_MODE=bwrap" in env.content_string


def test_query_through_the_ui_port_returns_a_table(host):
    assert_penguins_table(
        post_json(host, "http://127.0.0.1:8080/api/query", {"language": "sql", "code": PENGUINS_SQL})
    )


def test_chromium_on_the_host_gets_a_table(host):
    headers, rows = penguins_table_in_browser(HOST_URL, browser_user(host, "venv"))
    assert headers[0] == "species"
    assert sorted(r[0] for r in rows) == ["Adelie", "Chinstrap", "Gentoo"]


def prometheus_query(host, promql):
    """Instant query against the container's Prometheus (loopback only); the result list."""
    body = get_json(host, "http://127.0.0.1:9090/api/v1/query?" + urlencode({"query": promql}))
    assert body["status"] == "success", body
    return body["data"]["result"]


def wait_for_series(host, promql, attempts=30):
    """Poll until the query returns a series (scrapes happen every 15 s): a bounded number
    of attempts, never a timing assertion."""
    for _ in range(attempts):
        result = prometheus_query(host, promql)
        if result:
            return result
        time.sleep(2)
    return []


def test_prometheus_scrapes_the_real_agent(host):
    up = wait_for_series(host, 'up{job="corral"} == 1')
    assert [s["metric"]["instance"] for s in up] == ["127.0.0.1:8080"], up


def test_prometheus_has_the_agents_run_counter_after_the_smoke_query(host):
    runs = wait_for_series(host, 'corral_runs_total{job="corral",status="ok"}')
    assert runs, "no corral_runs_total{status=\"ok\"} series scraped from the agent"
    assert sum(float(s["value"][1]) for s in runs) >= 1


def test_prometheus_listens_on_loopback_only(host):
    mine = [s for s in host.socket.get_listening_sockets() if s.endswith(":9090")]
    assert mine == ["tcp://127.0.0.1:9090"]

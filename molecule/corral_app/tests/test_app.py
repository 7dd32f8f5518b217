"""Compose mode as deployed by roles/corral_app: what runs, what is on disk, and a real
query through the UI port that returns the penguins table."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from corral_checks import PENGUINS_SQL, assert_penguins_table, get_json, post_json

UI = "http://127.0.0.1:8080"


def test_both_services_run_and_are_healthy(host):
    out = host.check_output(
        "docker compose -p corral ps --format '{{.Service}} {{.State}} {{.Health}}'"
    )
    services = dict(line.split(" ", 1) for line in out.splitlines())
    assert services["agent-server"] == "running healthy"
    assert services["ui"].startswith("running")


def test_settings_file_is_private_and_carries_the_variables(host):
    env = host.file("/opt/corral/.env")
    assert env.user == "root" and env.mode == 0o600
    assert "MAX_ROWS=50" in env.content_string
    assert host.file("/opt/corral/compose.yaml").exists


def test_agent_does_not_run_as_root(host):
    assert host.check_output("docker exec corral-agent-server-1 id -u") != "0"


def test_readyz_through_the_ui_port(host):
    assert get_json(host, f"{UI}/api/readyz")["status"] == "ready"


def test_a_query_through_the_ui_port_returns_the_table(host):
    run = post_json(host, f"{UI}/api/query", {"language": "sql", "code": PENGUINS_SQL})
    assert_penguins_table(run)


def test_no_sandbox_container_is_left_after_the_run(host):
    """Only the warm pool's waiting sandboxes (never used: each serves one run, then goes)
    may remain, at most WARM_POOL_SIZE (the role's default, 2) of them."""
    every = host.check_output("docker ps -aq --filter label=io.corral.sandbox").split()
    warm = host.check_output("docker ps -aq --filter label=io.corral.sandbox "
                             "--filter label=io.corral.warm_until").split()
    assert set(every) <= set(warm)  # no used (non-warm) sandbox is left (a refill may add one)
    assert len(warm) <= 2

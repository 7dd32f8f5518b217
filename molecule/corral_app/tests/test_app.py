"""Compose mode as deployed by roles/corral_app: what runs, what is on disk, and a real
query through the UI port that returns the penguins table."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from corral_checks import (
    PENGUINS_SQL,
    TOKEN_FILE,
    assert_penguins_table,
    get_json,
    post_json,
    status_of,
)

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


def test_sign_in_settings_reach_the_agent(host):
    env = host.check_output("docker exec corral-agent-server-1 env")
    assert "AUTH_MODE=local" in env.splitlines()
    hosts = next(line for line in env.splitlines() if line.startswith("ALLOWED_HOSTS=")).split("=", 1)[1]
    assert {"localhost", "127.0.0.1", "::1", "corral-molecule-app", "10.213.47.11"} <= set(hosts.split(","))
    assert "TRUSTED_PROXIES=10.213.47.10" in env.splitlines()


def test_automation_token_file_is_private(host):
    token = host.file(TOKEN_FILE)
    assert token.user == "root" and token.mode == 0o600
    assert token.content_string.startswith("crl_")
    assert host.file("/opt/corral/secrets").mode == 0o700


def test_the_api_requires_sign_in_and_accepts_the_automation_token(host):
    assert status_of(host, f"{UI}/api/conversations", signed_in=False) == 401
    assert status_of(host, f"{UI}/api/conversations", signed_in=True) == 200
    me = get_json(host, f"{UI}/api/auth/me")
    assert me["username"] == "corral-automation" and me["role"] == "analyst"


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

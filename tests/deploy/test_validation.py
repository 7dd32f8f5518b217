"""Bad input stops site.yml in its first play, before anything changes, with one message
naming the variable and the fix. Only playbooks/validate.yml runs (it changes nothing),
against localhost: no Docker, no root needed."""

from __future__ import annotations

import pytest
from deploy_helpers import REPO, playbook

LOCAL = REPO / "inventories" / "local"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-e", "corral_environment=moon"],
         'corral_environment: unknown environment "moon"; pick one with -i inventories/<env>'),
        (["-e", "corral_max_rows=lots"],
         "argument 'corral_max_rows' is of type str and we were unable to convert to int"),
        (["-e", "corral_max_rows=20000"],
         'corral_max_rows: expected an integer from 1 to 10000 (got "20000")'),
        (["-e", "corral_sandbox_memory_limit=12x"],
         'corral_sandbox_memory_limit: expected a size like 256m or 1g (got "12x")'),
        (["-e", "corral_ui_port=99999"],
         'corral_ui_port: expected a TCP port from 1 to 65535 (got "99999")'),
        (["-e", "corral_images_mode=usb"],
         "value of corral_images_mode must be one of: build, airgap, got: usb"),
        (["-e", "corral_execution_mode=bwrap"],
         "corral_execution_mode: expected docker (compose mode runs sandboxes as containers)"),
        (["-e", "corral_app_mode=k9s"],
         'corral_app_mode: expected compose or venv (got "k9s")'),
        (["-e", "corral_llm_base_url=http://localhost:11434/v1"],
         "corral_llm_model: expected a model name, because corral_llm_base_url is set"),
        (["-e", '{"corral_datasets": [{"name": "sales"}]}'],
         "missing required arguments: src found in corral_datasets"),
        (["-e", "corral_monitoring_enabled=true", "-e", "corral_monitoring_service_manager=upstart"],
         "value of corral_monitoring_service_manager must be one of: auto, systemd, sysv, got: upstart"),
        (["-e", "corral_auth_mode=local,magic"],
         "value of corral_auth_mode must be one or more of: local, oidc, proxy, none"),
        (["-e", "corral_auth_mode=none"],
         "corral_auth_mode: expected sign-in (local, oidc or proxy): none is accepted only in venv mode"),
        (["-e", "corral_auth_mode=local,none"],
         "corral_auth_mode: expected a list of local, oidc and proxy, or exactly [none]"),
        (["-e", "corral_auth_mode=local,oidc", "-e", "corral_oidc_client_id=corral",
          "-e", "corral_oidc_client_secret=s3cret"],
         ("corral_oidc_issuer: expected the identity provider's issuer URL (https://...), because "
          "corral_auth_mode contains oidc")),
        (["-e", "corral_auth_mode=oidc", "-e", "corral_oidc_issuer=https://idp.example.com",
          "-e", "corral_oidc_client_id=corral"],
         ('corral_oidc_client_secret: expected the client secret (kept in a 0600 file), because '
          'corral_auth_mode contains oidc (got "(empty)")')),
        (["-e", '{"corral_trusted_proxies": ["nginx.local"]}'],
         "corral_trusted_proxies: expected IP addresses or CIDRs such as 10.0.0.5 or 10.0.0.0/24"),
        (["-e", '{"corral_allowed_hosts": ["https://corral.example.com/"]}'],
         "corral_allowed_hosts: expected host names or addresses without scheme, port or path"),
        (["-e", "corral_session_idle_timeout_s=99999"],
         "corral_session_idle_timeout_s: expected an integer from 60 to corral_session_max_age_s (28800)"),
        (["-e", "corral_cookie_secure=sometimes"],
         'corral_cookie_secure: expected auto, true or false (got "sometimes")'),
        (["-e", "corral_monitoring_enabled=true", "-e", "corral_monitoring_failure_rate=lots"],
         "argument 'corral_monitoring_failure_rate' is of type str and we were unable to convert to float"),
    ],
)
def test_bad_variable_stops_with_a_message_naming_it(extra, message):
    out = playbook("playbooks/validate.yml", LOCAL, *extra, timeout=120)
    assert out.returncode != 0
    assert message in out.stdout + out.stderr


def test_missing_required_variable_names_it_and_where_to_set_it():
    out = playbook(
        "playbooks/validate.yml", REPO / "inventories" / "vps", "-e", "corral_public_hostname=",
        timeout=120,
    )
    assert out.returncode != 0
    assert "corral_public_hostname is required for the vps environment" in out.stdout


def test_an_inventory_without_corral_hosts_stops_at_once(tmp_path):
    out = playbook("playbooks/validate.yml", tmp_path / "nope", timeout=120)
    assert out.returncode != 0
    assert "No host in the inventory groups 'corral', 'corral_k3s' or 'corral_managed'" in (
        out.stdout + out.stderr
    )


def test_good_variables_pass(tmp_path):
    out = playbook("playbooks/validate.yml", LOCAL, timeout=120)
    assert out.returncode == 0, out.stdout[-2000:]


def test_oidc_settings_pass_and_the_secret_never_shows(tmp_path):
    out = playbook("playbooks/validate.yml", LOCAL, "-e", "corral_auth_mode=local,oidc",
                   "-e", "corral_oidc_issuer=https://idp.example.com/realms/x",
                   "-e", "corral_oidc_client_id=corral", "-e", "corral_oidc_client_secret=s3cret-value",
                   "-e", '{"corral_admin_groups": ["corral-admins"]}', "-v", timeout=120)
    assert out.returncode == 0, out.stdout[-2000:]
    assert "s3cret-value" not in out.stdout + out.stderr


def test_no_sign_in_passes_only_for_a_loopback_venv(tmp_path):
    out = playbook("playbooks/validate.yml", LOCAL, "-e", "corral_auth_mode=none",
                   "-e", "corral_app_mode=venv", "-e", "corral_execution_mode=bwrap", timeout=120)
    assert out.returncode == 0, out.stdout[-2000:]
    out = playbook("playbooks/validate.yml", LOCAL, "-e", "corral_auth_mode=none",
                   "-e", "corral_app_mode=venv", "-e", "corral_ui_bind=0.0.0.0", timeout=120)
    assert out.returncode != 0
    assert "none is accepted only in venv mode with corral_ui_bind" in out.stdout


def test_docker_daemon_down_stops_with_the_fix(tmp_path):
    # community.docker reads DOCKER_HOST: a socket nobody listens on is a daemon that is down.
    out = playbook(
        "playbooks/images.yml", LOCAL, timeout=300,
        env={"DOCKER_HOST": f"unix://{tmp_path}/docker.sock"},
    )
    assert out.returncode != 0
    assert "The Docker daemon on localhost is not reachable" in out.stdout
    assert "service docker start" in out.stdout

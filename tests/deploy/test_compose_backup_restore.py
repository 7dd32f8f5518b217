"""Compose mode on this machine's Docker engine, in a project of its own (own name, port,
directory and state volume; the shared images are only read): corral_app deploys and
re-converges with no change, a query through the UI port returns a table, and
backup.yml + restore.yml bring back a conversation deleted after the backup. Sign-in is
required: every request carries the automation token the role keeps in a 0600 file.
"""

from __future__ import annotations

import os
import random
import uuid

import httpx
import pytest
from deploy_helpers import docker, failure, playbook, recap
from ports import free_port

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compose")
    project = f"corraltest{uuid.uuid4().hex[:6]}"
    port = free_port()
    # A subnet of its own: another Corral on this engine (make dev) holds the default one.
    net = random.randint(48, 250)
    inventory = tmp / "hosts.yml"
    inventory.write_text(
        "corral:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: '{{ ansible_playbook_python }}'\n"
    )
    extra = [
        "-e", f"corral_app_project={project}", "-e", f"corral_ui_port={port}",
        "-e", f"corral_app_dir={tmp / 'app'}", "-e", f"corral_backup_dir={tmp / 'backups'}",
        "-e", "corral_environment=local", "-e", "corral_app_mode=compose",
        "-e", f"corral_app_subnet=10.213.{net}.0/28",
        # The images this run built (make exports AGENT_IMAGE with its TAG).
        "-e", f"corral_app_image_tag={os.environ.get('AGENT_IMAGE', 'corral/agent-server:latest').rsplit(':', 1)[1]}",
    ]
    try:
        yield {"inventory": inventory, "extra": extra, "url": f"http://127.0.0.1:{port}",
               "project": project, "token_file": tmp / "app" / "secrets" / "automation-token"}
    finally:
        docker("compose", "-p", project, "down", "-v", "--remove-orphans", check=False)


# Variables compose.yaml interpolates, exported in the shell that runs ansible-playbook
# (as `make` exports image names, or a user's own shell): the rendered .env must win.
HOSTILE_SHELL = {"UI_PORT": "1", "MAX_ROWS": "1", "UI_BIND": "0.0.0.0"}


@pytest.fixture(scope="module")
def deployed(stack):
    first = playbook("playbooks/app.yml", stack["inventory"], *stack["extra"], env=HOSTILE_SHELL)
    assert first.returncode == 0, failure(first)
    second = playbook("playbooks/app.yml", stack["inventory"], *stack["extra"], env=HOSTILE_SHELL)
    assert second.returncode == 0, failure(second)
    return stack, first, second


def signed_in(stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack['token_file'].read_text().strip()}"}


def test_reconverge_changes_nothing(deployed):
    _, first, second = deployed
    assert recap(first.stdout, "localhost")["changed"] > 0
    assert recap(second.stdout, "localhost")["changed"] == 0


def test_the_token_file_is_private_and_the_api_requires_it(deployed):
    stack, _, _ = deployed
    mode = stack["token_file"].stat().st_mode & 0o777
    assert mode == 0o600
    anonymous = httpx.get(f"{stack['url']}/api/conversations", timeout=30)
    assert anonymous.status_code == 401
    assert httpx.get(f"{stack['url']}/api/conversations", headers=signed_in(stack),
                     timeout=30).status_code == 200


def test_query_through_the_ui_port_returns_a_table(deployed):
    stack, _, _ = deployed
    run = httpx.post(
        f"{stack['url']}/api/query",
        json={"language": "sql",
              "code": "SELECT species, count(*) AS n FROM penguins GROUP BY species ORDER BY 1"},
        headers=signed_in(stack), timeout=60,
    ).json()
    assert run["status"] == "ok"
    # All three rows, not truncated to the shell's MAX_ROWS=1: the .env's settings ran.
    assert run["rows"] == [["Adelie", 152], ["Chinstrap", 68], ["Gentoo", 124]]
    assert run["truncated"] is False


def test_the_ui_is_published_only_where_the_variables_say(deployed):
    stack, _, _ = deployed
    ports = docker("compose", "-p", stack["project"], "port", "ui", "8080").split()
    assert ports == [stack["url"].removeprefix("http://")]


def test_restore_brings_back_a_conversation_deleted_after_the_backup(deployed):
    stack, _, _ = deployed
    url = stack["url"]
    auth = signed_in(stack)
    answer = httpx.post(
        f"{url}/api/chat", json={"question": "How many penguins are there per species?"},
        headers=auth, timeout=60,
    ).json()
    conversation = answer["conversation_id"]

    backup = playbook("playbooks/backup.yml", stack["inventory"], *stack["extra"])
    assert backup.returncode == 0, failure(backup)

    assert httpx.delete(f"{url}/api/conversations/{conversation}", headers=auth,
                        timeout=30).status_code == 204
    assert httpx.get(f"{url}/api/conversations/{conversation}", headers=auth,
                     timeout=30).status_code == 404

    restore = playbook("playbooks/restore.yml", stack["inventory"], *stack["extra"])
    assert restore.returncode == 0, failure(restore)
    assert "conversations of the backup are served again" in restore.stdout

    restored = httpx.get(f"{url}/api/conversations/{conversation}", headers=signed_in(stack),
                         timeout=30)
    assert restored.status_code == 200
    assert restored.json()["messages"][0]["question"] == "How many penguins are there per species?"


def test_restore_without_an_archive_names_the_fix(deployed, tmp_path):
    stack, _, _ = deployed
    extra = [*stack["extra"], "-e", f"corral_backup_dir={tmp_path}"]
    out = playbook("playbooks/restore.yml", stack["inventory"], *extra)
    assert out.returncode != 0
    assert "run playbooks/backup.yml first" in out.stdout

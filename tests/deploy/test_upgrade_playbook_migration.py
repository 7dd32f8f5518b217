"""playbooks/upgrade.yml across a real schema migration, on a venv target: release N (this
checkout's tree before its newest migration, from git) is deployed with site.yml and makes
conversations through its API; the upgrade to this checkout (N+1, whose migration alters
the messages table) is first forced to fail after it has migrated - the new release's
sandboxes get too little memory to answer, so the smoke question fails - and must come
back to N with the data from before, every conversation served as it was; then the upgrade
succeeds and N+1 serves the same conversations on the migrated database.

Target: a throwaway Debian 12 container (community.docker.docker connection), bubblewrap
sandboxes, the agent under start-stop-daemon. Costs one site.yml converge and three
upgrade.yml runs (about 8 minutes on 2 shared cores).
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from deploy_helpers import (
    docker,
    failure,
    playbook,
    release_before_newest_migration,
    write_inventory,
)

pytestmark = [pytest.mark.docker, pytest.mark.bwrap]

VENV_VARS = {
    "corral_environment": "venv",
    "corral_app_mode": "venv",
    "corral_execution_mode": "bwrap",
    "corral_manage_docker": False,
    "corral_ui_port": 8080,
    "corral_warm_pool_size": 0,  # nothing to warm: every run starts its own sandbox
}
DATABASE = "/var/lib/corral/corral.db"
QUESTIONS = [("How many penguins are there per species?", False),
             ("What is the average body mass per island?", True),
             ("How many flights were delayed?", False)]
# The new release's sandbox limit in the forced failure: the agent starts (and migrates),
# but no sandbox can load the runner in 8 MiB, so the smoke question gets no table.
STARVED = ["-e", "corral_sandbox_memory_limit=8m"]


def api(host: str, method: str, path: str, body: dict | None = None) -> object:
    """One API call on the host, signed in with the automation token the role keeps there."""
    script = (
        "import json,sys,urllib.request;"
        "t=open('/opt/corral/secrets/automation-token').read().strip();"
        "b=sys.argv[3];"
        "r=urllib.request.Request('http://127.0.0.1:8080'+sys.argv[2],method=sys.argv[1],"
        "data=b.encode() if b else None,"
        "headers={'Content-Type':'application/json','Authorization':'Bearer '+t});"
        "print(urllib.request.urlopen(r,timeout=120).read().decode())"
    )
    out = docker("exec", host, "python3", "-c", script, method, path,
                 json.dumps(body) if body is not None else "")
    return json.loads(out)


def served(host: str) -> dict[str, dict]:
    """Every conversation the serving release lists, read one by one, by id."""
    return {c["id"]: api(host, "GET", f"/api/conversations/{c['id']}")
            for c in api(host, "GET", "/api/conversations")}


def current_release(host: str) -> str:
    return docker("exec", host, "readlink", "/opt/corral/current").rsplit("/", 1)[-1]


def schema_revision(host: str) -> str:
    return docker("exec", host, "python3", "-c",
                  "import sqlite3;print(sqlite3.connect('file:" + DATABASE + "?mode=ro',"
                  "uri=True).execute('SELECT version_num FROM alembic_version').fetchone()[0])")


def schema(host: str) -> list[str]:
    """The database's tables and indexes as SQLite keeps them (CREATE statements)."""
    out = docker("exec", host, "python3", "-c",
                 "import sqlite3,json;print(json.dumps(sorted(r[0] for r in sqlite3.connect("
                 "'file:" + DATABASE + "?mode=ro',uri=True).execute("
                 "'SELECT sql FROM sqlite_master WHERE sql IS NOT NULL'))))")
    return json.loads(out)


def assert_same_conversations(before: dict[str, dict], after: dict[str, dict]) -> None:
    """The same conversations with the same messages: every field N served, unchanged (a
    newer release may add fields of its own)."""
    assert set(after) == set(before)
    for cid, conversation in before.items():
        got = after[cid]
        assert len(got["messages"]) == len(conversation["messages"]), cid
        for old, new in zip(conversation["messages"], got["messages"], strict=True):
            assert {k: new.get(k) for k in old} == old, (cid, old, new)
        rest = {k: v for k, v in conversation.items() if k != "messages"}
        assert {k: got.get(k) for k in rest} == rest, cid


@pytest.fixture(scope="module")
def release_n(debian_container, tmp_path_factory) -> SimpleNamespace:
    """Release N deployed by site.yml, with conversations made through its API."""
    tmp = tmp_path_factory.mktemp("upgrade-migration")
    tree, migration = release_before_newest_migration(tmp / "release-n")
    host = debian_container
    inventory = write_inventory(tmp / "hosts.yml", host, VENV_VARS)
    out = playbook("site.yml", inventory, "-e", f"corral_app_repo_dir={tree}")
    assert out.returncode == 0, failure(out)
    last = None
    for question, follow_up in QUESTIONS:
        body = {"question": question, **({"conversation_id": last} if follow_up else {})}
        last = api(host, "POST", "/api/chat", body)["conversation_id"]
    before = served(host)
    assert len(before) == 2 and sum(len(c["messages"]) for c in before.values()) == 3
    n = SimpleNamespace(host=host, inventory=inventory, release=current_release(host),
                        revision=schema_revision(host), schema=schema(host),
                        migration=migration[:4], conversations=before)
    assert n.revision < n.migration, "release N already has the newest migration"
    return n


@pytest.fixture(scope="module")
def failed_upgrade(release_n):
    return playbook("playbooks/upgrade.yml", release_n.inventory, *STARVED)


@pytest.fixture(scope="module")
def good_upgrade(release_n, failed_upgrade):
    """The upgrade again, not forced to fail (after the failed one, on N's data)."""
    out = playbook("playbooks/upgrade.yml", release_n.inventory)
    assert out.returncode == 0, failure(out)
    return out


def test_failed_upgrade_says_why_after_the_new_release_had_migrated(release_n, failed_upgrade):
    out = failed_upgrade
    assert out.returncode != 0
    assert "Upgrade failed and was rolled back" in out.stdout, failure(out)
    assert "Reason: Smoke - a canonical question must get a table" in out.stdout, failure(out)
    # N+1 had started and migrated: its start-up takes the copy it migrates from.
    copy = f"{DATABASE}.before-{release_n.migration}"
    assert docker("exec", release_n.host, "sh", "-c", f"test -f {copy} && echo yes") == "yes"


def test_failed_upgrade_leaves_release_n_serving_every_conversation(release_n, failed_upgrade):
    assert failed_upgrade.returncode != 0
    host = release_n.host
    assert current_release(host) == release_n.release
    # The data from before the migration came back: N's schema, every conversation as served.
    assert schema_revision(host) == release_n.revision
    assert schema(host) == release_n.schema
    assert served(host) == release_n.conversations


def test_upgrade_migrates_and_the_new_release_serves_every_conversation(release_n, good_upgrade):
    host, before = release_n.host, release_n.conversations
    assert current_release(host) != release_n.release
    assert schema_revision(host) == release_n.migration
    assert schema(host) != release_n.schema  # the migration changed a table
    assert_same_conversations(before, served(host))
    # The new release answers on the migrated database, in a conversation N made too.
    cid = next(iter(before))
    answer = api(host, "POST", "/api/chat",
                 {"question": "How many penguins are there per species?",
                  "conversation_id": cid})
    assert answer["conversation_id"] == cid
    assert len(api(host, "GET", f"/api/conversations/{cid}")["messages"]) == \
        len(before[cid]["messages"]) + 1

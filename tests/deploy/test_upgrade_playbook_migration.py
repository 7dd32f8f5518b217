"""playbooks/upgrade.yml across a real schema migration, on a venv target: release N (this
checkout's tree before its newest migration, from git) is deployed with site.yml and makes
conversations through its API; the upgrade to this checkout (N+1, whose newest migration
changes a table; today 0004 adds two columns to messages) is first forced to fail after it has migrated - the new release's
sandboxes get too little memory to answer, so the smoke question fails - and must come
back to N with the data from before, every conversation served as it was; then the upgrade
succeeds and N+1 serves the same conversations on the migrated database; playbooks/rollback.yml
then brings back N and the data from before the upgrade. Twice: with the
default SQLite database (backed up by copy) and with PostgreSQL (pg_dump, pg_restore; a
real PostgreSQL server in the target).

Target: a throwaway Debian 12 container (community.docker.docker connection), bubblewrap
sandboxes, the agent under start-stop-daemon. Costs, per database, one site.yml converge,
two upgrade.yml runs and a rollback.yml run: 8 to 12 minutes for both on 2 shared cores.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from deploy_helpers import (
    VENV_VARS,
    debian_target,
    docker,
    failure,
    playbook,
    release_before_newest_migration,
    write_inventory,
)

pytestmark = [pytest.mark.docker, pytest.mark.bwrap]

# No warm pool: every run starts its own sandbox, so nothing warms between the plays.
VARS = {**VENV_VARS, "corral_warm_pool_size": 0}
DATABASE = "/var/lib/corral/corral.db"
PG_URL = "postgresql://corral:corral-test-pw@127.0.0.1:5432/corral"
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


def sql(host: str, kind: str, query: str) -> list[str]:
    """The first column of `query`'s rows, read from the deployment's database."""
    if kind == "postgresql":
        out = docker("exec", host, "runuser", "-u", "postgres", "--", "psql", "-d", "corral",
                     "-AtXc", query)
        return out.splitlines()
    out = docker("exec", host, "python3", "-c",
                 "import sqlite3,sys,json;print(json.dumps([r[0] for r in sqlite3.connect("
                 "'file:" + DATABASE + "?mode=ro',uri=True).execute(sys.argv[1])]))", query)
    return json.loads(out)


def schema_revision(host: str, kind: str) -> str:
    return sql(host, kind, "SELECT version_num FROM alembic_version")[0]


def schema(host: str, kind: str) -> list[str]:
    """The database's tables and their columns (SQLite: its CREATE statements)."""
    if kind == "postgresql":
        return sql(host, kind, "SELECT table_name || '.' || column_name || ' ' || data_type "
                               "FROM information_schema.columns WHERE table_schema = 'public' "
                               "ORDER BY 1")
    return sorted(sql(host, kind, "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"))


def start_postgresql(host: str) -> None:
    """Debian's PostgreSQL in the target, with a database and a user for Corral."""
    docker("exec", "-e", "DEBIAN_FRONTEND=noninteractive", host, "sh", "-ec",
           "apt-get update -qq && apt-get install -y -qq postgresql >/dev/null && "
           "pg_ctlcluster $(ls /etc/postgresql) main start")
    for statement in ("CREATE ROLE corral LOGIN PASSWORD 'corral-test-pw'",
                      "CREATE DATABASE corral OWNER corral"):
        docker("exec", host, "runuser", "-u", "postgres", "--", "psql", "-c", statement)


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


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def target(request):
    """A fresh Debian 12 target and the database kind it deploys with."""
    with debian_target() as host:
        if request.param == "postgresql":
            start_postgresql(host)
        yield host, request.param


@pytest.fixture(scope="module")
def release_n(target, tmp_path_factory) -> SimpleNamespace:
    """Release N deployed by site.yml, with conversations made through its API."""
    host, kind = target
    tmp = tmp_path_factory.mktemp("upgrade-migration")
    tree, migration = release_before_newest_migration(tmp / "release-n")
    inventory = write_inventory(tmp / "hosts.yml", host, {
        **VARS, **({"corral_database_url": PG_URL} if kind == "postgresql" else {})})
    out = playbook("site.yml", inventory, "-e", f"corral_app_repo_dir={tree}")
    assert out.returncode == 0, failure(out)
    last = None
    for question, follow_up in QUESTIONS:
        body = {"question": question, **({"conversation_id": last} if follow_up else {})}
        last = api(host, "POST", "/api/chat", body)["conversation_id"]
    before = served(host)
    assert len(before) == 2 and sum(len(c["messages"]) for c in before.values()) == 3
    n = SimpleNamespace(host=host, kind=kind, inventory=inventory,
                        release=current_release(host), revision=schema_revision(host, kind),
                        schema=schema(host, kind), migration=migration[:4],
                        conversations=before)
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
    # N+1 had started and migrated before it failed (the agent's log says so) ...
    log = docker("exec", release_n.host, "cat", "/var/log/corral/agent.log")
    assert f"Running upgrade {release_n.revision} -> {release_n.migration}" in log
    # ... from a backup taken first.
    if release_n.kind == "sqlite":
        assert "Backup /var/backups/corral/corral-backup-" in out.stdout
        copy = f"{DATABASE}.before-{release_n.migration}"  # N+1's own copy before migrating
        assert docker("exec", release_n.host, "sh", "-c", f"test -f {copy} && echo yes") == "yes"
    else:
        assert "Backup (pg_dump) /var/backups/corral/corral-pg-" in out.stdout
        assert "Restore corral-pg-" in out.stdout


def test_failed_upgrade_leaves_release_n_serving_every_conversation(release_n, failed_upgrade):
    assert failed_upgrade.returncode != 0
    # The data from before the migration came back: N's schema, every conversation as served.
    assert_release_n_serves_its_data(release_n)


def test_upgrade_migrates_and_the_new_release_serves_every_conversation(release_n, good_upgrade):
    host, before = release_n.host, release_n.conversations
    assert current_release(host) != release_n.release
    assert schema_revision(host, release_n.kind) == release_n.migration
    assert schema(host, release_n.kind) != release_n.schema  # the migration changed a table
    assert_same_conversations(before, served(host))
    # The new release answers on the migrated database, in a conversation N made too.
    cid = next(iter(before))
    answer = api(host, "POST", "/api/chat",
                 {"question": "How many penguins are there per species?",
                  "conversation_id": cid})
    assert answer["conversation_id"] == cid
    assert len(api(host, "GET", f"/api/conversations/{cid}")["messages"]) == \
        len(before[cid]["messages"]) + 1


@pytest.fixture(scope="module")
def rolled_back(release_n, good_upgrade):
    """playbooks/rollback.yml after the successful upgrade (and the answer N+1 gave)."""
    out = playbook("playbooks/rollback.yml", release_n.inventory)
    assert out.returncode == 0, failure(out)
    return out


def test_rollback_after_the_upgrade_puts_back_release_n_and_its_data(release_n, rolled_back):
    # The backup from before the upgrade is back: N's schema, every conversation as N
    # served it (what was written after the upgrade is lost, as rollback.yml says).
    assert_release_n_serves_its_data(release_n)


def assert_release_n_serves_its_data(release_n) -> None:
    """Release N is current, on its own schema, serving every conversation as it did."""
    host = release_n.host
    assert current_release(host) == release_n.release
    assert schema_revision(host, release_n.kind) == release_n.revision
    assert schema(host, release_n.kind) == release_n.schema
    assert served(host) == release_n.conversations

"""Upgrade N -> N+1 across a real migration (0002: users, and a user_id column on
conversations, messages and runs), then back: the release before 0002 (from git) makes
conversations through its API; this checkout upgrades the database at start-up; the
conversations survive and belong to whom 0002 says (nobody: rows from before identity);
a rollback restores the copy taken before the upgrade and the previous release serves
every conversation it had. A migration that fails half-way leaves the database exactly as
it was, and the previous release serving. Real servers, real bwrap sandboxes, SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from auth_helpers import auth_headers, issue_token
from releases import REPO, serving, start_refused, unpack_previous_release

from app.schema_upgrade import UpgradeRefused, copy_path, head_revision, sqlite_copy
from app.storage import make_engine, migrate

QUESTIONS = [("How many penguins are there per species?", None),
             ("What is the average body mass per island?", "same"),
             ("How many flights were delayed?", None)]


@pytest.fixture(scope="module")
def previous(tmp_path_factory) -> Path:
    return unpack_previous_release(tmp_path_factory.mktemp("release-before-0002"))


def _conversations(url: str, headers: dict | None = None) -> dict[str, dict]:
    """Every conversation the server lists, with its messages, by id."""
    with httpx.Client(base_url=url, headers=headers or {}, timeout=30) as client:
        listed = client.get("/api/conversations")
        assert listed.status_code == 200, listed.text
        return {c["id"]: client.get(f"/api/conversations/{c['id']}").json()
                for c in listed.json()}


@pytest.fixture
def old_deployment(previous, tmp_path) -> tuple[Path, dict[str, dict]]:
    """A database the previous release made and served, with its conversations as served."""
    database = tmp_path / "corral.db"
    with serving(previous, database) as url:
        last = None
        for question, follow_up in QUESTIONS:
            body = {"question": question, **({"conversation_id": last} if follow_up else {})}
            answer = httpx.post(f"{url}/api/chat", json=body, timeout=60)
            assert answer.status_code == 200, answer.text
            last = answer.json()["conversation_id"]
        served = _conversations(url)
    assert len(served) == 2 and sum(len(c["messages"]) for c in served.values()) == 3
    return database, served


def _rows(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return db.execute(sql).fetchall()


def _dump(database: Path) -> list[str]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return list(db.iterdump())


@pytest.mark.bwrap
def test_upgrade_keeps_the_conversations_and_a_rollback_restores_the_previous_data(
        previous, old_deployment):
    database, before = old_deployment
    runs = {r for (r,) in _rows(database, "SELECT run_id FROM runs")}
    assert runs
    with serving(REPO, database) as url:
        # 0002: conversations, messages and runs from before identity belong to nobody.
        assert set(_rows(database, "SELECT id, user_id FROM conversations")) == {
            (cid, None) for cid in before}
        assert _rows(database, "SELECT count(*), count(user_id) FROM messages") == [(3, 0)]
        admin = auth_headers(issue_token(f"sqlite:///{database}"))
        # So no signed-in user lists them (an admin neither) ...
        assert _conversations(url, admin) == {}
        # ... and the audit keeps every run, with no one as the asker.
        audit = httpx.get(f"{url}/api/admin/audit", headers=admin, timeout=30).json()
        assert {r["run_id"] for r in audit} == runs
        assert {r["username"] for r in audit} == {None}
    copy = copy_path(database, head_revision())
    assert copy.is_file(), "no copy of the database was taken before migrating"
    # Rollback without the data: the previous release refuses the migrated database.
    refused = start_refused(previous, database)
    assert head_revision() in refused, refused
    # Rollback with the data: the pre-upgrade copy put back (agent stopped), then it serves.
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    sqlite_copy(copy, database)
    with serving(previous, database) as url:
        assert _conversations(url) == before


@pytest.mark.bwrap
def test_a_failed_migration_leaves_the_previous_version_serving_its_data(
        previous, old_deployment):
    database, before = old_deployment
    # A column 0002 adds, already there (say, made by hand): 0002 fails on its last
    # table, after it has created five tables and altered two others.
    with sqlite3.connect(database) as db:
        db.execute("ALTER TABLE runs ADD COLUMN user_id VARCHAR(32)")
    dump = _dump(database)
    refused = start_refused(REPO, database)
    # This checkout migrates on to its newest revision; 0002 is the step that fails.
    assert (f"migrating the database from schema revision 0001 to {head_revision()} failed"
            in refused)
    assert "duplicate column name: user_id" in refused
    assert "put back as it was" in refused
    assert str(copy_path(database, head_revision())) in refused
    assert _dump(database) == dump, "the failed migration left changes behind"
    with serving(previous, database) as url:
        assert _conversations(url) == before


def test_a_database_from_a_newer_version_is_refused_naming_the_way_back(tmp_path):
    database = tmp_path / "corral.db"
    engine = make_engine(f"sqlite:///{database}")
    migrate(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(UpgradeRefused) as refused:
        migrate(engine)
    engine.dispose()
    message = str(refused.value)
    assert "schema revision 0099, written by a newer Corral" in message
    assert str(copy_path(database, "0099")) in message and "playbooks/restore.yml" in message

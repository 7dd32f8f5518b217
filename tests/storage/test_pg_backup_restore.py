"""A PostgreSQL deployment's backup and restore (scripts/pg-backup.sh: pg_dump, pg_restore)
against a real PostgreSQL from Debian's packages: conversations of two users are backed up,
destroyed, and come back the same, each to its owner; a restore into a database that has
newer rows replaces them; a broken archive changes nothing and says so."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.auth import users
from app.storage import Storage, sqlalchemy_url

SCRIPT = str(Path(__file__).resolve().parents[2] / "scripts" / "pg-backup.sh")


def _tool(action: str, url: str, file) -> subprocess.CompletedProcess:
    return subprocess.run([SCRIPT, action, url, str(file)], capture_output=True, text=True,
                          timeout=120, check=False)


async def _everything(storage: Storage, owners: list[str]) -> dict[str, dict]:
    """Each owner's conversations, with their messages, as the API would serve them."""
    out = {}
    for owner in owners:
        for summary in await storage.list_conversations(user_id=owner):
            out[summary["id"]] = {"owner": owner, "summary": summary,
                                  "full": await storage.get_conversation(summary["id"], owner)}
    return out


async def _fill(storage: Storage) -> list[str]:
    owners = [users.create(storage.engine, name, role="analyst").id
              for name in ("pgbackup-ann", "pgbackup-bob")]
    for i, owner in enumerate(owners * 2):
        cid = await storage.create_conversation(f"question {i} ünïcode", user_id=owner)
        await storage.add_message(cid, f"How many rows in {i}?", {"language": "sql", "code": "SELECT 1"},
                                  {"status": "ok", "rows": [[i]], "columns": [{"name": "n"}]},
                                  f"{i} rows", ["next?"], user_id=owner)
    return owners


@pytest.fixture
async def storage(postgres_url):
    url = sqlalchemy_url(postgres_url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # a clean database: other storage tests share the server
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()
    store = Storage(url)
    await store.open()
    yield store
    await store.close()


async def test_backup_destroy_restore_brings_back_every_conversation(storage, postgres_url,
                                                                     tmp_path):
    owners = await _fill(storage)
    before = await _everything(storage, owners)
    assert len(before) == 4
    dumped = _tool("dump", postgres_url, tmp_path / "corral.pgdump")
    assert dumped.returncode == 0, dumped.stderr
    with storage.engine.begin() as conn:  # destroyed: every table, the schema version too
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    storage.engine.dispose()
    restored = _tool("restore", postgres_url, tmp_path / "corral.pgdump")
    assert restored.returncode == 0, restored.stderr
    await storage.open()  # as the agent starts: the schema is current, nothing to migrate
    assert await _everything(storage, owners) == before


async def test_a_restore_replaces_rows_written_after_the_backup(storage, postgres_url,
                                                                tmp_path):
    owners = await _fill(storage)
    before = await _everything(storage, owners)
    assert _tool("dump", postgres_url, tmp_path / "corral.pgdump").returncode == 0
    later = await storage.create_conversation("after the backup", user_id=owners[0])
    storage.engine.dispose()
    restored = _tool("restore", postgres_url, tmp_path / "corral.pgdump")
    assert restored.returncode == 0, restored.stderr
    assert await _everything(storage, owners) == before
    assert not await storage.conversation_exists(later, owners[0])


async def test_a_broken_archive_changes_nothing_and_says_so(storage, postgres_url, tmp_path):
    owners = await _fill(storage)
    before = await _everything(storage, owners)
    broken = tmp_path / "corral.pgdump"
    broken.write_bytes(b"PGDMP not really")
    storage.engine.dispose()
    restored = _tool("restore", postgres_url, broken)
    assert restored.returncode != 0
    assert "pg_restore" in restored.stderr and "corral.pgdump" not in restored.stdout
    assert await _everything(storage, owners) == before
    refused = _tool("dump", "sqlite:///corral.db", tmp_path / "x")
    assert refused.returncode == 2 and "URL: expected postgresql://" in refused.stderr

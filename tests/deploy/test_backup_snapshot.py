"""The corral_backup role's staging step (roles/corral_backup/files/snapshot.py), run as the
role runs it on a target: a consistent copy of a live SQLite database and the configuration,
and no new archive while neither changed since the newest one."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

from deploy_helpers import REPO

SNAPSHOT = REPO / "roles" / "corral_backup" / "files" / "snapshot.py"


def _snapshot(staging, database, last, *configs):
    return subprocess.run([sys.executable, str(SNAPSHOT), str(staging), str(database), last,
                           *map(str, configs)], capture_output=True, text=True, check=False)


def _database(path):
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE conversations (id TEXT PRIMARY KEY)")
        db.executemany("INSERT INTO conversations VALUES (?)", [("b",), ("a",)])


def test_unchanged_data_makes_no_new_archive_and_a_change_does(tmp_path):
    database, env = tmp_path / "corral.db", tmp_path / "corral.env"
    _database(database)
    env.write_text("MAX_ROWS=200\n")
    env.chmod(0o640)
    first = _snapshot(tmp_path / "s1", database, "none", env)
    assert first.returncode == 0, first.stderr
    staged = json.loads(first.stdout)
    assert staged["new"] and staged["conversation_ids"] == ["a", "b"]
    assert (tmp_path / "s1" / "config" / "corral.env").read_text() == "MAX_ROWS=200\n"
    # Its mode kept (the agent's group reads corral.env), inside a directory only root reads.
    assert (tmp_path / "s1" / "config" / "corral.env").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "s1" / "config").stat().st_mode & 0o777 == 0o700
    again = json.loads(_snapshot(tmp_path / "s2", database, staged["fingerprint"], env).stdout)
    assert not again["new"] and again["fingerprint"] == staged["fingerprint"]
    assert not (tmp_path / "s2").exists()
    writer = sqlite3.connect(database)  # a committed write, still in the open WAL
    writer.execute("INSERT INTO conversations VALUES ('c')")
    writer.commit()
    changed = json.loads(_snapshot(tmp_path / "s3", database, staged["fingerprint"], env).stdout)
    writer.close()
    assert changed["new"] and changed["conversation_ids"] == ["a", "b", "c"]
    env.write_text("MAX_ROWS=100\n")
    assert json.loads(_snapshot(tmp_path / "s4", database, changed["fingerprint"], env).stdout)["new"]


def test_a_missing_database_is_named(tmp_path):
    out = _snapshot(tmp_path / "s", tmp_path / "nowhere.db", "none")
    assert out.returncode != 0
    assert f"no database at {tmp_path / 'nowhere.db'}" in out.stderr

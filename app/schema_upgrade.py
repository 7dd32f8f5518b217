"""Bringing the database to this version's schema without losing what the previous version had.

SQLite runs Alembic's DDL outside any transaction (each ALTER commits on its own), so a
migration that fails half-way would leave a schema neither version knows. So before a
SQLite database that is behind is migrated, a consistent copy is taken beside it
(`<file>.before-<revision>`, with SQLite's online backup API); when the migration fails, the
copy is put back and the start is refused with a message naming the migration and the copy.
The copy stays after a successful upgrade: it is the pre-upgrade backup that a rollback to
the previous version restores (README "Upgrade, rollback and backups"). PostgreSQL runs the
whole migration in one transaction (transactional DDL): a failure there leaves nothing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


class UpgradeRefused(Exception):
    """The schema cannot be brought to this version; the message says what happened and
    what the data looks like now."""


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def copy_path(database: Path, revision: str) -> Path:
    """Where the copy taken before migrating to `revision` is kept."""
    return database.with_name(f"{database.name}.before-{revision}")


def sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of `source` into `target` (its whole content replaced), safe while
    another process writes `source`."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def head_revision() -> str:
    """The newest schema revision this version migrates to."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision, or raise UpgradeRefused."""
    cfg = _config()
    script = ScriptDirectory.from_config(cfg)
    head = script.get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    known = {rev.revision for rev in script.walk_revisions()}
    if current is not None and current not in known:
        raise UpgradeRefused(
            f"DATABASE_URL: the database is at schema revision {current}, written by a newer "
            f"Corral; this version knows revisions up to {head}. To run this version, restore "
            "the backup taken before that upgrade (playbooks/restore.yml, or the copy "
            f"{_copy_hint(engine, current)}); otherwise run the newer version again.")
    database = _sqlite_file(engine)
    if database is None or current in (None, head):  # PostgreSQL, a new database, up to date
        _upgrade(engine, cfg)
        return
    copy = copy_path(database, head)
    sqlite_copy(database, copy)
    try:
        _upgrade(engine, cfg)
    except Exception as exc:  # any failure: put the previous version's data back
        engine.dispose()
        sqlite_copy(copy, database)
        first = (str(exc).splitlines() or [""])[0][:300]
        raise UpgradeRefused(
            f"DATABASE_URL: migrating the database from schema revision {current} to {head} "
            f"failed ({type(exc).__name__}: {first}). Nothing was lost: the database was put "
            f"back as it was before this start (a copy is kept at {copy}), so the previous "
            "version can serve it again; fix the cause and start this version again."
        ) from exc


def _upgrade(engine: Engine, cfg: Config) -> None:
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _sqlite_file(engine: Engine) -> Path | None:
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def _copy_hint(engine: Engine, revision: str) -> str:
    database = _sqlite_file(engine)
    return str(copy_path(database, revision)) if database else "(none: PostgreSQL, use pg_restore)"

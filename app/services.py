"""The agent server's long-lived parts (catalog, executor, storage, runs, chat), built
at start-up from the settings and closed at shutdown; routes reach them through the
typed dependencies of app/api/deps.py.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import NoReturn

from app.auth.bootstrap import announce_sign_in
from app.capacity import Capacity
from app.catalog import Catalog, CatalogError, load_catalog
from app.chat import Chat
from app.executors.base import Executor
from app.executors.data_files import visibility_refusal
from app.metrics import Metrics
from app.planners import make_planner
from app.planners.base import Planner
from app.runs import Runs
from app.schema_upgrade import UpgradeRefused
from app.settings import Settings, SettingsError, load_settings
from app.storage import Storage, sqlalchemy_url
from app.user_limits import UserLimits

log = logging.getLogger("corral")


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    executor: Executor
    storage: Storage
    runs: Runs
    chat: Chat
    planner: Planner
    user_limits: UserLimits


def refuse_to_start(message: str) -> NoReturn:
    """A bad configuration stops the process with the message only, no traceback."""
    print(f"corral: {message}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(2)  # SystemExit would be caught and printed with a traceback by uvicorn


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("corral").setLevel(level)


def _make_executor(settings: Settings) -> Executor:
    from app.executors import make_executor

    return make_executor(settings)


def _settings_or_exit(settings: Settings | None) -> Settings:
    if settings is not None:
        return settings
    try:
        return load_settings()
    except SettingsError as exc:
        refuse_to_start(str(exc))


async def _sweep(executor: Executor) -> None:
    try:
        removed = await executor.sweep()
        log.info("start-up sweep (%s): removed %d leftover sandbox(es)", executor.name, removed)
    except Exception as exc:  # noqa: BLE001 - backend down: /readyz says so; keep serving
        log.warning("start-up sweep (%s) failed: %s", executor.name, exc)


async def _open_storage(settings: Settings) -> Storage:
    storage = Storage(sqlalchemy_url(settings.database_url))
    try:
        await storage.open()
    except UpgradeRefused as exc:  # says what happened to the data; nothing to add
        refuse_to_start(str(exc))
    except Exception as exc:  # noqa: BLE001 - any failure here means "cannot start"
        first = (str(exc).splitlines() or [""])[0][:300]
        if settings.database_url in first:  # never echo a password
            first = first.replace(settings.database_url, "<DATABASE_URL>")
        refuse_to_start(
            f"DATABASE_URL: cannot open the database ({type(exc).__name__}: {first}); "
            "check that it is reachable and the user may create tables"
        )
    return storage


@asynccontextmanager
async def running_services(
    settings: Settings | None, executor: Executor | None, metrics: Metrics
) -> AsyncIterator[Services]:
    """Build every service (refusing to start on a bad configuration), yield, close."""
    settings = _settings_or_exit(settings)
    _configure_logging(settings.log_level)
    try:
        catalog = load_catalog(settings.datasets_path)
    except CatalogError as exc:
        refuse_to_start(str(exc))
    if problem := visibility_refusal(settings, catalog):
        refuse_to_start(problem)
    if settings.execution_mode == "unsafe-local":
        log.warning("EXECUTION_MODE=unsafe-local: generated code runs with NO sandbox, "
                    "as this server's user. Use it only on a throw-away machine.")
    own_executor = executor is None
    executor = executor or _make_executor(settings)
    executor.use_metrics(metrics)  # the warm pool reports hits, misses and refills
    await _sweep(executor)
    storage = await _open_storage(settings)
    await announce_sign_in(settings, storage.engine)
    planner = make_planner(settings)
    capacity = Capacity(settings.max_sandboxes, settings.run_timeout_ms, metrics)
    runs = Runs(settings, executor, capacity, storage, metrics)
    chat = Chat(planner, runs, storage, metrics)
    log.info(
        "agent server ready: executor=%s planner=%s datasets=%s max_sandboxes=%d",
        executor.name, planner.name, ",".join(catalog.names), settings.max_sandboxes,
    )
    user_limits = UserLimits(settings.user_runs_per_minute, settings.user_max_sandboxes,
                             settings.run_timeout_ms, metrics)
    try:
        yield Services(settings, catalog, executor, storage, runs, chat, planner, user_limits)
    finally:
        await planner.close()
        if own_executor:
            await executor.close()
        await storage.close()

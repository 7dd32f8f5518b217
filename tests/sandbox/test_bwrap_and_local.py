"""BubblewrapExecutor specifics (what the sandbox sees, health messages) and the
unsafe-local opt-in, which must refuse to exist unless acknowledged."""

from __future__ import annotations

import logging
import shutil

import pytest
from sandbox_helpers import new_run_id, run, sandbox_settings, table

from app.executors import ExecutorUnavailable, make_executor
from app.executors.bwrap import BubblewrapExecutor
from app.settings import SettingsError


@pytest.mark.bwrap
async def test_bwrap_sandbox_sees_only_what_the_runner_needs(bwrap_executor):
    code = """
import os
result = {'root': ','.join(sorted(os.listdir('/'))),
          'etc': os.path.exists('/etc'), 'home': os.path.exists('/home'),
          'data': ','.join(sorted(os.listdir('/data'))),
          'hostname': os.uname().nodename, 'pid': os.getpid()}
"""
    got = table(await run(bwrap_executor, code))
    assert not got["etc"] and not got["home"]
    assert "passwd" not in got["root"]
    assert {"manifest.json", "penguins.parquet"} <= set(got["data"].split(","))
    assert got["pid"] < 10  # its own pid namespace


@pytest.mark.bwrap
async def test_bwrap_check_names_a_broken_runner_python():
    executor = BubblewrapExecutor(sandbox_settings("bwrap", runner_python="/nonexistent/python3"))
    with pytest.raises(ExecutorUnavailable, match="RUNNER_PYTHON"):
        await executor.check()
    result = await run(executor, "SELECT 1", "sql")
    assert result["status"] == "unavailable"
    assert "RUNNER_PYTHON" in result["error"]["message"]


async def test_bwrap_missing_is_named_with_the_fix(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    executor = BubblewrapExecutor(sandbox_settings("bwrap"))
    with pytest.raises(ExecutorUnavailable, match="apt-get install -y bubblewrap"):
        await executor.check()


def test_make_executor_picks_the_backend():
    assert make_executor(sandbox_settings("docker")).name == "docker"
    assert make_executor(sandbox_settings("bwrap")).name == "bwrap"


def test_unsafe_local_needs_the_explicit_opt_in():
    with pytest.raises(SettingsError, match="ALLOW_UNSAFE_LOCAL"):
        sandbox_settings("unsafe-local")


async def test_unsafe_local_runs_with_a_loud_warning(caplog):
    with caplog.at_level(logging.WARNING):
        executor = make_executor(sandbox_settings("unsafe-local", allow_unsafe_local=True))
    assert "WITHOUT ANY SANDBOX" in caplog.text
    result = await run(executor, "SELECT count(*) AS n FROM penguins", "sql",
                       run_id=new_run_id())
    assert result["rows"] == [[344]]
    timed_out = await run(executor, "result = sum(range(10**14))", timeout_ms=500)
    assert timed_out["status"] == "timeout"

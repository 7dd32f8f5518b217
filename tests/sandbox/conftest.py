"""Real sandboxes: DockerExecutor with the real runner image, BubblewrapExecutor with real bwrap.

`sandbox` is parametrized over both backends (marked `docker` / `bwrap`), so each
adversarial test runs in each (see sandbox_helpers for what every run checks).
"""

from __future__ import annotations

import asyncio

import pytest
from sandbox_helpers import sandbox_settings

from app.executors import ExecutorUnavailable, make_executor
from app.executors.base import Executor


def _backend(mode: str) -> Executor:
    executor = make_executor(sandbox_settings(mode))
    try:
        asyncio.run(executor.check())
    except ExecutorUnavailable as exc:
        # Not a skip: CI builds the image and starts Docker before these run.
        pytest.fail(f"{mode} executor unavailable: {exc}")
    return executor


@pytest.fixture(scope="session")
def docker_executor() -> Executor:
    executor = _backend("docker")
    yield executor
    asyncio.run(executor.close())


@pytest.fixture(scope="session")
def bwrap_executor() -> Executor:
    return _backend("bwrap")


@pytest.fixture(
    params=[
        pytest.param("docker", marks=pytest.mark.docker),
        pytest.param("bwrap", marks=pytest.mark.bwrap),
    ]
)
def sandbox(request: pytest.FixtureRequest) -> Executor:
    return request.getfixturevalue(f"{request.param}_executor")



"""Real sandboxes: DockerExecutor with the real runner image, BubblewrapExecutor with real bwrap.

`sandbox` is parametrized over both backends (marked `docker` / `bwrap`), each cold and
behind its warm pool (`docker-pool`, `bwrap-pool`), so each adversarial test runs in each
(see sandbox_helpers for what every run checks).
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from sandbox_helpers import sandbox_settings

from app.executors import ExecutorUnavailable, cgroups, make_executor
from app.executors.base import Executor
from app.executors.pool import PooledExecutor
from app.metrics import Metrics


@pytest.fixture(scope="session", autouse=True)
def _own_cgroup_parent():
    """Remove this process's bwrap cgroup parent (sandbox_helpers' deployment) at the end."""
    yield
    settings = sandbox_settings("bwrap")
    for directory in set(cgroups.deployment_dirs(settings.deployment_id).values()):
        with contextlib.suppress(OSError):
            directory.rmdir()


def _backend(mode: str, **overrides: object) -> Executor:
    executor = make_executor(sandbox_settings(mode, **overrides))
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


@pytest.fixture(scope="session")
def docker_pool_executor() -> PooledExecutor:
    executor = _backend("docker", warm_pool_size=2)
    executor.use_metrics(Metrics())
    yield executor
    asyncio.run(executor.close())


@pytest.fixture(scope="session")
def bwrap_pool_executor() -> PooledExecutor:
    executor = _backend("bwrap", warm_pool_size=2)
    executor.use_metrics(Metrics())
    yield executor
    asyncio.run(executor.close())


@pytest.fixture(
    params=[
        pytest.param("docker", marks=pytest.mark.docker),
        pytest.param("docker_pool", marks=pytest.mark.docker, id="docker-pool"),
        pytest.param("bwrap", marks=pytest.mark.bwrap),
        pytest.param("bwrap_pool", marks=pytest.mark.bwrap, id="bwrap-pool"),
    ]
)
def sandbox(request: pytest.FixtureRequest) -> Executor:
    return request.getfixturevalue(f"{request.param}_executor")


@pytest.fixture(
    params=[
        pytest.param("docker_pool", marks=pytest.mark.docker, id="docker-pool"),
        pytest.param("bwrap_pool", marks=pytest.mark.bwrap, id="bwrap-pool"),
    ]
)
def pooled(request: pytest.FixtureRequest) -> PooledExecutor:
    return request.getfixturevalue(f"{request.param}_executor")



"""Sandbox backends behind one interface (base.Executor); `make_executor` picks one."""

from __future__ import annotations

from app.executors.base import SANDBOX_LABEL, Executor, ExecutorUnavailable
from app.settings import Settings

__all__ = ["SANDBOX_LABEL", "Executor", "ExecutorUnavailable", "make_executor"]


def make_executor(settings: Settings) -> Executor:
    """The executor EXECUTION_MODE names. Backends import lazily: a bwrap host needs no
    docker SDK configured, a docker host no kubernetes client."""
    mode = settings.execution_mode
    if mode == "docker":
        from app.executors.docker import DockerExecutor

        return _pooled(DockerExecutor(settings))
    if mode == "bwrap":
        from app.executors.bwrap import BubblewrapExecutor

        return _pooled(BubblewrapExecutor(settings))
    if mode == "k8s":
        from app.executors.k8s import K8sJobExecutor

        return K8sJobExecutor(settings)
    if mode == "unsafe-local":
        from app.executors.local import UnsafeLocalExecutor

        return UnsafeLocalExecutor(settings)
    raise ValueError(f"EXECUTION_MODE: unknown mode {mode!r}; expected docker, bwrap or k8s")


def _pooled(cold: Executor) -> Executor:
    """With WARM_POOL_SIZE > 0, the backend behind a pool of warm sandboxes (pool.py)."""
    settings = cold.settings  # type: ignore[attr-defined]
    if settings.warm_pool_size == 0:
        return cold
    from app.executors.pool import PooledExecutor

    if cold.name == "docker":
        from app.executors.docker_warm import DockerWarmSandboxes

        return PooledExecutor(cold, DockerWarmSandboxes(cold), settings)  # type: ignore[arg-type]
    from app.executors.bwrap_warm import BwrapWarmSandboxes

    return PooledExecutor(cold, BwrapWarmSandboxes(cold), settings)  # type: ignore[arg-type]

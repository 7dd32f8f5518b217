"""Warm Docker sandboxes for the pool: a runner container created, attached and started ahead.

The container is made from exactly the cold path's configuration (DockerExecutor.
_container_config: same image, flags, limits, labels), plus CORRAL_RUNNER_WARM=1 so the
runner imports DuckDB and pandas and opens its connection before it blocks reading stdin,
and a label saying until when the start-up sweep must leave it alone. The attach stream
is opened before start (as on the cold path) and kept: it is how the request arrives,
so the runner needs no network at all. When our side of that stream closes (the server
died), Docker closes the runner's stdin (StdinOnce), the runner exits, and any sweep
removes the exited container.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any

from docker.errors import DockerException, NotFound
from requests import RequestException

from app.executors.docker import (
    STDERR,
    WARM_UNTIL_LABEL,
    DockerExecutor,
    _close,
    _frames,
)
from app.executors.outcome import result_from
from runner import contract
from runner.contract import READY_MARK, WARM_ENV

# Warming is imports and opening the datasets: ~1 s at half a CPU; far more means trouble.
WARM_UP_TIMEOUT_S = 60
# While it warms, a sandbox may use one whole CPU: no code of a user runs in it yet, only
# the runner's imports (~0.3 s of CPU), and at half a CPU the refill after one query was
# still running when the next came at 1-2 requests/s. Its limit goes back to
# SANDBOX_CPU_LIMIT before it joins the pool, so every query meets the cold path's limits.
WARM_UP_CPUS = 1.0
# The sweep's slack past a warm sandbox's lifetime before it counts as a leftover.
WARM_SWEEP_SLACK_S = 60


@dataclass
class WarmContainer:
    cid: str
    attached: Any  # the attach stream: stdin for the request, stdout/stderr for the answer
    sock: socket.socket  # its socket (kept: closing `attached` forgets it)


class DockerWarmSandboxes:
    """The pool's Docker backend (app/executors/pool.py WarmBackend)."""

    def __init__(self, executor: DockerExecutor) -> None:
        self.executor = executor
        self.settings = executor.settings
        self.warm_up_cpus = max(self.settings.sandbox_cpu_limit, WARM_UP_CPUS)

    def sandbox_id(self, sandbox: WarmContainer) -> str:
        return sandbox.cid

    def start(self) -> WarmContainer:
        api = self.executor._api()
        config = self.executor._container_config(f"warm-{uuid.uuid4().hex[:16]}")
        config["environment"][WARM_ENV] = "1"
        until = time.time() + self.settings.warm_pool_max_idle_s + WARM_SWEEP_SLACK_S
        config["labels"][WARM_UNTIL_LABEL] = str(int(until))
        limit = config["host_config"]["NanoCpus"]
        config["host_config"]["NanoCpus"] = int(self.warm_up_cpus * 1e9)
        cid = api.create_container(**config)["Id"]
        attached = None
        try:
            attached = api.attach_socket(
                cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
            api.start(cid)
            warm = WarmContainer(cid, attached, getattr(attached, "_sock", attached))
            _wait_ready(warm)
            _set_cpu_limit(api, cid, limit)  # raises: never pooled with the warm-up's CPU
            return warm
        except BaseException:
            if attached is not None:
                _close(attached)
            self.executor.remove(api, cid)
            raise

    def alive(self, sandbox: WarmContainer) -> bool:
        """The runner writes nothing while it waits: EOF or any byte means it is gone."""
        try:
            sandbox.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return True
        except OSError as exc:
            return exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK)
        return False

    def run(self, sandbox: WarmContainer, request: dict[str, Any]) -> dict[str, Any] | None:
        started = time.monotonic()
        api = self.executor._api()
        exited = False
        try:
            if not self.alive(sandbox):
                return None
            end = self.executor.exchange(api, sandbox.cid, sandbox.attached, request, started)
            exited = end.exited
            return result_from(request, end)
        except NotFound:
            return None  # removed from outside mid-run, before it could answer: run it cold
        except (DockerException, RequestException, OSError) as exc:
            elapsed = int((time.monotonic() - started) * 1000)
            return contract.failed_result(request["run_id"], "crashed", None,
                                          f"The sandbox failed while running: {exc}", elapsed)
        finally:
            _close(sandbox.attached)
            self.executor.dispose(api, sandbox.cid, exited)

    def discard(self, sandbox: WarmContainer) -> None:
        _close(sandbox.attached)
        with contextlib.suppress(DockerException, RequestException):
            self.executor.remove(self.executor._api(), sandbox.cid)


def _set_cpu_limit(api: Any, cid: str, nano_cpus: int) -> None:
    """Docker's update endpoint (the SDK's update_container has no NanoCpus argument)."""
    response = api._post_json(api._url("/containers/{0}/update", cid),
                              data={"NanoCpus": nano_cpus})
    api._raise_for_status(response)


def _wait_ready(warm: WarmContainer) -> None:
    """Read the attach stream until the runner says it is ready (or give up)."""
    deadline = time.monotonic() + WARM_UP_TIMEOUT_S
    err = bytearray()
    try:
        for stream, data in _frames(warm.sock, deadline):
            if stream == STDERR:
                err.extend(data)
                if READY_MARK in err:
                    warm.sock.settimeout(None)
                    return
    except TimeoutError:
        raise RuntimeError(
            f"the runner did not warm up within {WARM_UP_TIMEOUT_S} s (a runner image older "
            "than the warm pool never says it is ready: rebuild it with `make images`, or "
            "set WARM_POOL_SIZE=0)") from None
    raise RuntimeError(f"the runner exited while warming up: {bytes(err[-300:])!r}")

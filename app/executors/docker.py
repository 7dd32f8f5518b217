"""DockerExecutor: one fresh, locked-down container per run, removed in every outcome.

Latency matters (a person waits on every run), so a run costs the fewest Docker API
round trips possible on one reused client: create (all configuration at once) →
attach (before start, so no output is missed) → start → [stream stdin/stdout] →
wait → remove(force). Inspect only when the exit code says something went wrong. A
container seen to exit is removed just after its answer returns (docker_reaper.py);
one that may still run is force-removed before.
The SDK is blocking; each run happens in a worker thread so the event loop never
waits on Docker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import socket
import struct
import threading
import time
from pathlib import Path, PurePosixPath
from typing import Any

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound, NotFound

from app.executors.base import (
    DEPLOYMENT_LABEL,
    SANDBOX_ENV,
    SANDBOX_LABEL,
    SANDBOX_LABEL_VALUE,
    SANDBOX_UID,
    Executor,
    ExecutorUnavailable,
)
from app.executors.data_files import UNREADABLE, files_for, no_host_folder, table_files
from app.executors.docker_reaper import Reaper
from app.executors.outcome import STDERR_TAIL, Ending, has_answer, output_cap, result_from
from app.settings import Settings
from runner import contract

log = logging.getLogger(__name__)

RUNNER_USER = f"{SANDBOX_UID}:{SANDBOX_UID}"
RUN_ID_LABEL = "io.corral.run_id"
# Set on warm-pool sandboxes (docker_warm.py): the sweep leaves a running one alone until then.
WARM_UNTIL_LABEL = "io.corral.warm_until"
TMPFS = {"/tmp": "rw,noexec,nosuid,nodev,size=64m"}
# /data of a run limited to some tables: an empty read-only folder (hiding whatever the
# image holds there) with one read-only bind per file over it. Docker mounts by path
# depth, so the binds land inside it; they need no room of their own.
DATA_TMPFS = "ro,noexec,nosuid,nodev,size=64k,mode=0755"
STDOUT, STDERR = 1, 2
# A running sandbox older than its deadline plus this is a leftover, not a live run.
SWEEP_SLACK_S = 30


class DockerExecutor(Executor):
    name = "docker"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: docker.DockerClient | None = None
        self._lock = threading.Lock()
        self.reaper = Reaper(self._remove_exited)

    # --- the client: created once, on first use (the server must start without Docker) ---

    def _api(self) -> docker.APIClient:
        with self._lock:
            if self._client is None:
                self._client = docker.from_env(
                    # A pool per concurrent sandbox (+ sweeps/health checks) so runs never
                    # wait for a free connection.
                    max_pool_size=self.settings.max_sandboxes * 2 + 4,
                )
            return self._client.api

    def _forget_client(self, exc: Exception) -> None:
        """After a lost connection, the next call builds a fresh client: a restarted
        engine is reached again without restarting the agent (its pooled connections
        point at the old socket)."""
        if isinstance(exc, (requests.ConnectionError, ConnectionError, OSError)) or (
                "Connection" in type(exc).__name__ or "connection" in str(exc).lower()):
            with self._lock:
                client, self._client = self._client, None
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()

    # --- run -----------------------------------------------------------------------

    async def run(self, request: dict[str, Any]) -> dict[str, Any]:
        return await asyncio.to_thread(self._run_blocking, request)

    def _run_blocking(self, request: dict[str, Any]) -> dict[str, Any]:
        run_id = request["run_id"]
        started = time.monotonic()
        try:
            api = self._api()
            cid = api.create_container(
                **self._container_config(run_id, request.get("tables")))["Id"]
        except ExecutorUnavailable as exc:
            return contract.failed_result(run_id, "unavailable", None, str(exc), 0)
        except (DockerException, requests.RequestException) as exc:
            self._forget_client(exc)
            return contract.failed_result(
                run_id, "unavailable", None, _unavailable_message(exc, self.settings), 0
            )
        exited = False
        try:
            end = self._converse(api, cid, request, started)
            exited = end.exited
            return result_from(request, end)
        except (DockerException, requests.RequestException, OSError) as exc:
            self._forget_client(exc)
            log.warning("run %s: docker failed mid-run: %s", run_id, exc)
            elapsed = int((time.monotonic() - started) * 1000)
            return contract.failed_result(
                run_id, "crashed", None, f"The sandbox failed while running: {exc}", elapsed
            )
        finally:
            self.dispose(api, cid, exited)

    def _container_config(self, run_id: str, tables: str | None = None) -> dict[str, Any]:
        """Everything about the container in one create call; `tables` (a request limited
        to the datasets its user may see, app/visibility.py) gives it only manifest.json
        and those tables' files at /data."""
        s = self.settings
        tmpfs, mounts = dict(TMPFS), []
        if tables is not None:
            tmpfs["/data"] = DATA_TMPFS
            mounts = self._table_mounts(tables)
        elif s.runner_datasets_source:
            # Named volume or absolute host path (paths on the Docker host, not ours).
            mounts.append(
                docker.types.Mount("/data", s.runner_datasets_source, read_only=True,
                                   type="bind" if s.runner_datasets_source.startswith("/")
                                   else "volume")
            )
        host_config = self._api().create_host_config(
            network_mode="none",
            read_only=True,
            pids_limit=s.sandbox_pids_limit,
            mem_limit=s.sandbox_memory_limit,
            memswap_limit=s.sandbox_memory_limit,
            nano_cpus=int(s.sandbox_cpu_limit * 1e9),
            tmpfs=tmpfs,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            log_config=docker.types.LogConfig(type="none"),
            mounts=mounts,
        )
        return {
            "image": s.runner_image,
            "user": RUNNER_USER,
            "stdin_open": True,
            "detach": False,  # with stdin_open: AttachStdin + StdinOnce, our close = EOF
            "environment": dict(SANDBOX_ENV, CORRAL_DATA_DIR="/data"),
            "labels": {SANDBOX_LABEL: SANDBOX_LABEL_VALUE, RUN_ID_LABEL: run_id,
                       DEPLOYMENT_LABEL: s.deployment_id},
            "host_config": host_config,
            "network_disabled": True,
        }

    def _table_mounts(self, tables: str) -> list[docker.types.Mount]:
        """One read-only bind per file from the host folder RUNNER_DATASETS_SOURCE; the
        file list comes from the manifest this server reads (DATASETS_PATH: the same folder,
        possibly mounted elsewhere when this server runs in a container). Without a host
        folder no file can be left out, so the run is refused rather than given them all
        (the server refuses to start so configured: visibility_refusal)."""
        source = self.settings.runner_datasets_source
        if not source.startswith("/"):
            raise ExecutorUnavailable(no_host_folder(source))
        try:
            files = table_files(self.settings.datasets_path)
        except UNREADABLE as exc:
            raise ExecutorUnavailable(
                f"DATASETS_PATH={self.settings.datasets_path}: cannot read manifest.json: {exc}"
            ) from None
        return [docker.types.Mount(f"/data/{name}", str(PurePosixPath(source) / name),
                                   type="bind", read_only=True)
                for name in files_for(tables, files)]

    def _converse(
        self, api: docker.APIClient, cid: str, request: dict[str, Any], started: float
    ) -> Ending:
        attached = api.attach_socket(
            cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        )
        try:
            api.start(cid)
        except BaseException:
            _close(attached)
            raise
        return self.exchange(api, cid, attached, request, started)

    def exchange(
        self, api: docker.APIClient, cid: str, attached: Any, request: dict[str, Any],
        started: float,
    ) -> Ending:
        """Send the request on a started container's attach stream and read how it ended.

        Shared by cold runs and warm ones (docker_warm.py): same deadline, cap and exit
        reading for both."""
        cap = output_cap(request)
        deadline = started + request["timeout_ms"] / 1000 + self.settings.sandbox_grace_ms / 1000
        end = Ending(stdout=b"")
        out, err = bytearray(), bytearray()
        sock: socket.socket = getattr(attached, "_sock", attached)
        try:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sock.sendall(json.dumps(request).encode())
            sock.shutdown(socket.SHUT_WR)
            for stream, data in _frames(sock, deadline):
                if stream == STDOUT:
                    out.extend(data)
                    if len(out) > cap:
                        end.output_exceeded = True
                        break
                elif stream == STDERR:
                    err.extend(data)
                    del err[:-STDERR_TAIL]
            else:
                end.exited = True  # the engine closes the stream once the container exits
        except TimeoutError:
            end.timed_out = True
        finally:
            _close(attached)
        end.stdout, end.stderr_tail = bytes(out[:cap]), bytes(err)
        # A complete answer needs no exit code: skip the wait (a round trip) and let
        # remove(force) finish the exiting container.
        if not (end.timed_out or end.output_exceeded or has_answer(end.stdout)):
            remaining = max(deadline - time.monotonic(), 1.0)
            try:
                end.exit_code = api.wait(cid, timeout=remaining)["StatusCode"]
                end.exited = True
            except (requests.exceptions.Timeout, requests.exceptions.ConnectionError):  # hangs on
                end.timed_out = True
            if end.exit_code not in (0, None):
                state = api.inspect_container(cid)["State"]  # NotFound: removed from outside
                # SIGKILL that we did not send is the cgroup OOM killer: Docker does not
                # always notice (OOMKilled stays false under nested cgroup v1, as here).
                end.oom_killed = bool(state.get("OOMKilled")) or end.exit_code == 137
        end.elapsed_ms = int((time.monotonic() - started) * 1000)
        return end

    def dispose(self, api: docker.APIClient, cid: str, exited: bool) -> None:
        """Remove a run's container: after the answer if it was seen to exit, else now."""
        if exited:
            self.reaper.submit(cid)
        else:
            self.remove(api, cid)

    def drain(self) -> None:
        self.reaper.drain()

    def _remove_exited(self, cid: str) -> None:
        try:
            api = self._api()
        except DockerException as exc:  # the engine went away: the start-up sweep removes it
            log.error("could not remove sandbox container %s: %s", cid[:12], exc)
            return
        self.remove(api, cid)

    def remove(self, api: docker.APIClient, cid: str) -> None:
        try:
            api.remove_container(cid, force=True)  # kills it first if still running
        except NotFound:
            pass
        except (DockerException, requests.RequestException) as exc:
            # The start-up sweep removes it later; the run's answer stands.
            log.error("could not remove sandbox container %s: %s", cid[:12], exc)

    # --- health and housekeeping -----------------------------------------------------

    async def check(self) -> None:
        await asyncio.to_thread(self._check_blocking)

    def _check_blocking(self) -> None:
        try:
            api = self._api()
            api.ping()
        except (DockerException, requests.RequestException) as exc:
            with self._lock:
                self._client = None  # try afresh next time (Docker may come up later)
            raise ExecutorUnavailable(_unavailable_message(exc, self.settings)) from None
        try:
            api.inspect_image(self.settings.runner_image)
        except ImageNotFound:
            raise ExecutorUnavailable(_image_missing(self.settings)) from None
        except (DockerException, requests.RequestException) as exc:
            raise ExecutorUnavailable(f"Docker could not inspect the runner image: {exc}") from None

    async def sweep(self) -> int:
        return await asyncio.to_thread(self._sweep_blocking)

    def _sweep_blocking(self) -> int:
        """Remove sandboxes that ended, and running ones older than any run may last.

        Only this deployment's (DEPLOYMENT_ID label): another Corral on the same engine
        keeps its own. Young running ones are left alone: another agent server of this
        deployment may be using them right now.
        """
        api = self._api()
        s = self.settings
        oldest_live = time.time() - (s.run_timeout_ms + s.sandbox_grace_ms) / 1000 - SWEEP_SLACK_S
        removed = 0
        own = [SANDBOX_LABEL, f"{DEPLOYMENT_LABEL}={s.deployment_id}"]
        for c in api.containers(all=True, filters={"label": own}):
            if c.get("State") in ("running", "created", "restarting") and (
                c["Created"] > oldest_live or _warm_until(c) > time.time()
            ):
                continue
            try:
                api.remove_container(c["Id"], force=True)
                removed += 1
            except NotFound:
                pass
            except APIError as exc:  # e.g. removal already in progress elsewhere
                log.warning("sweep: could not remove %s: %s", c["Id"][:12], exc)
        if removed:
            log.warning("removed %d sandbox container(s) left by an earlier server", removed)
        return removed

    async def close(self) -> None:
        await asyncio.to_thread(self.reaper.close)
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _warm_until(container: dict[str, Any]) -> float:
    """A warm-pool sandbox may wait longer than a run lasts: until this (epoch seconds)."""
    try:
        return float((container.get("Labels") or {}).get(WARM_UNTIL_LABEL, 0))
    except ValueError:
        return 0.0


def _close(attached: Any) -> None:
    sock = getattr(attached, "_sock", None) or attached  # SocketIO.close() forgets its socket
    with contextlib.suppress(OSError):
        attached.close()
    with contextlib.suppress(OSError):
        sock.close()


def _frames(sock: socket.socket, deadline: float):
    """Yield (stream, bytes) from Docker's multiplexed attach stream until EOF."""
    buf = bytearray()
    while True:
        while len(buf) >= 8:
            stream, size = buf[0], struct.unpack(">I", buf[4:8])[0]
            if len(buf) < 8 + size:
                break
            yield stream, bytes(buf[8 : 8 + size])
            del buf[: 8 + size]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(256 * 1024)
        except socket.timeout:  # noqa: UP041 - an alias, but name what recv raises
            raise TimeoutError from None
        if not chunk:
            return
        buf.extend(chunk)


def _image_missing(settings: Settings) -> str:
    return (
        f"The runner image {settings.runner_image} is missing: build it with `make images` "
        "(or set RUNNER_IMAGE to an image that exists)."
    )


def _unavailable_message(exc: Exception, settings: Settings) -> str:
    """Why Docker cannot be used, naming the fix."""
    text = str(exc)
    if isinstance(exc, ImageNotFound) or ("No such image" in text):
        return _image_missing(settings)
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://"):
        sock = Path(host[len("unix://") :])
        if not sock.exists():
            if shutil.which("docker") is None and shutil.which("dockerd") is None:
                return (
                    f"Docker is not installed (no {sock}). Install it: "
                    "`sudo apt-get install -y docker.io`, then start the daemon; or set "
                    "EXECUTION_MODE=bwrap to run sandboxes with bubblewrap."
                )
            return (
                f"The Docker engine's socket {sock} does not exist: the engine is stopped or "
                "restarting (start it: `sudo systemctl start docker`; without systemd "
                "`sudo dockerd >/var/log/dockerd.log 2>&1 &`). This server reconnects by itself."
            )
        if "Permission denied" in text:
            return (
                f"No permission to use {sock}: add this user to the docker group "
                "(`sudo usermod -aG docker $USER`, then log in again)."
            )
    if "Connection refused" in text or "ConnectionError" in type(exc).__name__ or isinstance(
        exc, requests.ConnectionError
    ):
        return (
            f"The Docker engine at {host} refused the connection ({text[:200]}): it is "
            "stopping or restarting, and this server reconnects by itself when it is back. "
            "If it stays so while `docker info` works on the host, this server's container "
            "holds an old socket file: mount the socket's directory (compose.yaml does)."
        )
    if isinstance(exc, APIError):
        return f"Docker refused to start the sandbox: {exc.explanation or text}"
    return f"Docker is not usable: {text[:300]}"

"""K8sJobExecutor: one Kubernetes Job per query, removed in every outcome.

The request travels in the env var RUNNER_REQUEST. The executor watches the Job's pod
and, as soon as the runner container runs, follows its log: the runner writes one
framed result there (runner/channel.py, app/executors/k8s_log.py) and nothing else
reaches that log, so the result is read the moment it is written. The wall-clock
deadline (RUN_TIMEOUT_MS + SANDBOX_GRACE_MS after the container started) is enforced
from outside: the executor deletes the pod and reports `timeout`; the Job's
activeDeadlineSeconds is the backstop when the agent itself is gone. How a run ended
is mapped to a status by outcome.result_from, as for every other executor.

The pod is locked down (restricted Pod Security profile, no service account token, no
service links, read-only root, a uid of its own so RLIMIT_NPROC counts only its
processes) and carries the labels the chart's default-deny NetworkPolicy selects. Its
only writable scratch space is the runtime's /dev/shm (TMPDIR, HOME and the working
directory), not a volume: the kubelet checks a pod's volumes every 300 ms before it
starts it, a third of a run (see SCRATCH). The runner pod template (labels, resources,
datasets volume, TTL) comes from the Helm chart as a JSON file (K8S_RUNNER_TEMPLATE, a
mounted ConfigMap), so the labels the NetworkPolicy selects and the labels put on Jobs
are one value and cannot drift. Without a template (outside the chart) the same fields
are built from the sandbox settings. Every API call made here is listed in k8s_api.py.

The kubernetes client is synchronous; every call runs in a worker thread
(asyncio.to_thread) so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import secrets
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from app.executors.base import (
    SANDBOX_ENV,
    SANDBOX_LABEL,
    SANDBOX_LABEL_VALUE,
    Executor,
    ExecutorUnavailable,
)
from app.executors.data_files import UNREADABLE, files_for, table_files
from app.executors.k8s_api import EXECUTOR_CALLS
from app.executors.k8s_log import LogReader, parse_frame
from app.executors.outcome import STDERR_TAIL, Ending, output_cap, result_from
from runner import contract

log = logging.getLogger(__name__)

CONTAINER = "runner"
CHECK_CACHE_S = 30.0
JOB_LABEL = "io.corral.job"  # our own pod selector: independent of controller-added labels
IN_CLUSTER_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")

# Waiting reasons that never resolve by waiting: answer "unavailable" at once.
IMAGE_FAILURES = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
CONFIG_FAILURES = {"CreateContainerConfigError", "CreateContainerError"}

# Runner pods get a uid of their own from this range (never the agent's 10001): the
# kernel counts RLIMIT_NPROC per uid, so one pod's processes cannot use up another's.
RUNNER_UIDS = range(200_000, 1_200_000)
# Where the runner writes its result frame (the kubelet's default path, made explicit).
TERMINATION_FILE = "/dev/termination-log"
RESTART = object()  # _on_pod: follow the pod with a fresh watch
# The runner's scratch space: the pod's /dev/shm, which every CRI runtime mounts as a
# 64 MiB tmpfs (nosuid, nodev, noexec; its pages count against the pod's memory limit),
# as the Docker executor's tmpfs /tmp. No emptyDir: a pod with any volume waits for the
# kubelet's volume manager, which polls every 300 ms (bench/k8s_job_latency.py measured
# 323 ms p50 from scheduled to sandbox with the /tmp emptyDir, 31 ms without). A pod
# that mounts a datasets volume pays that wait anyway.
SCRATCH = "/dev/shm"

_UNITS = {"k": "Ki", "m": "Mi", "g": "Gi"}


def parse_labels(text: str) -> dict[str, str]:
    """'a=b,c=d' -> {'a': 'b', 'c': 'd'} (the K8S_RUNNER_LABELS format)."""
    labels = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise ValueError(f"K8S_RUNNER_LABELS: expected key=value pairs, got {part!r}")
        labels[key.strip()] = value.strip()
    return labels


def default_template(settings: Any) -> dict[str, Any]:
    """The runner pod template when the chart gives none, from the sandbox settings."""
    memory = settings.sandbox_memory_limit
    memory = memory[:-1] + _UNITS[memory[-1]]
    cpu = f"{max(1, round(settings.sandbox_cpu_limit * 1000))}m"
    datasets: dict[str, str] = {}
    source = getattr(settings, "k8s_datasets_source", "")
    if source:
        kind, _, name = source.partition(":")
        datasets = {"pvc" if kind == "pvc" else "configMap": name}
    return {
        "labels": parse_labels(settings.k8s_runner_labels),
        "annotations": {},
        "resources": {
            "requests": {"cpu": cpu, "memory": memory, "ephemeral-storage": "64Mi"},
            "limits": {"cpu": cpu, "memory": memory, "ephemeral-storage": "128Mi"},
        },
        "imagePullPolicy": "IfNotPresent",
        "imagePullSecrets": [],
        "ttlSecondsAfterFinished": getattr(settings, "k8s_job_ttl_s", 300),
        "startupGraceSeconds": getattr(settings, "k8s_startup_grace_s", 60),
        "processLimit": getattr(settings, "sandbox_pids_limit", 64),
        "datasets": datasets,
        "nodeSelector": {},
        "tolerations": [],
        "runtimeClassName": "",
        "priorityClassName": "",
    }


def load_template(settings: Any) -> dict[str, Any]:
    """The chart's template (K8S_RUNNER_TEMPLATE) over the defaults; a bad file stops start-up."""
    template = default_template(settings)
    path = getattr(settings, "k8s_runner_template", "")
    if path:
        try:
            given = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"K8S_RUNNER_TEMPLATE: cannot read {path}: {exc}") from None
        if not isinstance(given, dict):
            raise ValueError(f"K8S_RUNNER_TEMPLATE: {path} must hold a JSON object")
        template.update(given)
    return template


def dataset_mounts(tables: str | None, files: dict[str, str] | None) -> list[dict[str, Any]]:
    """The datasets volume at /data; for a request limited to some tables (the datasets
    its user may see, app/visibility.py) only manifest.json and their files, one subPath
    each, so a program cannot open the others' files: they are not in the pod."""
    if tables is None or files is None:
        return [{"name": "datasets", "mountPath": "/data", "readOnly": True}]
    return [{"name": "datasets", "mountPath": f"/data/{f}", "subPath": f, "readOnly": True}
            for f in files_for(tables, files)]


def build_job(
    name: str, request: dict[str, Any], image: str, template: dict[str, Any],
    files: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The Job body for one request. Security fields are fixed here: a template can add
    labels, resources or scheduling hints but never loosen the sandbox. `files` (table ->
    file, see table_files) lets a request limited to some tables mount only theirs."""
    timeout_s = math.ceil(request["timeout_ms"] / 1000)
    uid = RUNNER_UIDS[secrets.randbelow(len(RUNNER_UIDS))]
    labels = {
        **template.get("labels", {}),
        SANDBOX_LABEL: SANDBOX_LABEL_VALUE,
        JOB_LABEL: name,
    }
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    datasets = template.get("datasets") or {}
    if datasets.get("pvc"):
        volumes.append(
            {
                "name": "datasets",
                "persistentVolumeClaim": {"claimName": datasets["pvc"], "readOnly": True},
            }
        )
    elif datasets.get("configMap"):
        volumes.append({"name": "datasets", "configMap": {"name": datasets["configMap"]}})
    if volumes:
        mounts = dataset_mounts(request.get("tables"), files)

    container = {
        "name": CONTAINER,
        "image": image,
        "imagePullPolicy": template.get("imagePullPolicy", "IfNotPresent"),
        "workingDir": SCRATCH,
        "env": [
            {"name": "RUNNER_REQUEST", "value": json.dumps(request, separators=(",", ":"))},
            {"name": "TMPDIR", "value": SCRATCH},
            {"name": "HOME", "value": SCRATCH},
            *({"name": name, "value": value} for name, value in SANDBOX_ENV.items()),
            # runner/channel.py: keep the log for the framed result, cap the processes.
            {"name": "CORRAL_RESULT_FRAME", "value": TERMINATION_FILE},
            {"name": "CORRAL_PROCESS_LIMIT", "value": str(int(template.get("processLimit", 64)))},
        ],
        "resources": template["resources"],
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": uid,
            "runAsGroup": uid,
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationMessagePath": TERMINATION_FILE,
        "terminationMessagePolicy": "File",
    }
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "hostNetwork": False,
        "hostPID": False,
        "hostIPC": False,
        "terminationGracePeriodSeconds": 2,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": uid,
            "runAsGroup": uid,
            "fsGroup": uid,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
    }
    if volumes:
        container["volumeMounts"] = mounts
        pod_spec["volumes"] = volumes
    for key in ("nodeSelector", "tolerations", "imagePullSecrets"):
        if template.get(key):
            pod_spec[key] = template[key]
    for key in ("runtimeClassName", "priorityClassName"):
        if template.get(key):
            pod_spec[key] = template[key]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                **template.get("jobAnnotations", {}),
                "io.corral.run-id": request["run_id"],
            },
        },
        "spec": {
            "backoffLimit": 0,
            # The runner enforces timeout_ms itself and the executor kills the pod at
            # timeout + SANDBOX_GRACE_MS; this deadline is the backstop for when the agent
            # is gone, and also has to cover scheduling and the image pull.
            "activeDeadlineSeconds": timeout_s + int(template.get("startupGraceSeconds", 60)),
            "ttlSecondsAfterFinished": int(template.get("ttlSecondsAfterFinished", 300)),
            "template": {
                "metadata": {"labels": labels, "annotations": template.get("annotations", {})},
                "spec": pod_spec,
            },
        },
    }


def _api_error_message(exc: ApiException) -> str:
    try:
        return json.loads(exc.body or "{}").get("message") or str(exc.reason)
    except ValueError:
        return str(exc.body or exc.reason)


class K8sJobExecutor(Executor):
    name = "k8s"

    def __init__(self, settings: Any, api_client: client.ApiClient | None = None) -> None:
        self.settings = settings
        self.template = load_template(settings)
        self._api_client = api_client
        self._namespace: str | None = settings.k8s_namespace or None
        self._lock = threading.Lock()
        self._checked_at: float | None = None  # when check() last passed
        # Runs whose Job and pod are still being deleted (after their result was returned).
        self._deleting = 0
        self._deleted = threading.Condition()
        # Called with each run's timeline (StageReport); bench/k8s_job_latency.py.
        self.stage_observer: Callable[[StageReport], None] | None = None
        self._files: dict[str, str] | None = None  # _table_files()

    def _table_files(self) -> dict[str, str] | None:
        """table -> file of the mounted datasets, read once; None when they are baked into
        the runner image (nothing to narrow) or the manifest cannot be read."""
        if self._files is None and (self.template.get("datasets") or {}):
            # The chart mounts the same claim at the agent's DATASETS_PATH and runners' /data.
            try:
                self._files = table_files(self.settings.datasets_path)
            except UNREADABLE as exc:
                log.warning("cannot read the datasets manifest for per-run mounts: %s", exc)
        return self._files

    # --- client ------------------------------------------------------------------

    def _client(self) -> client.ApiClient:
        """In-cluster config, else KUBECONFIG (or ~/.kube/config); built on first use."""
        with self._lock:
            if self._api_client is None:
                cfg = client.Configuration()
                try:
                    config.load_incluster_config(client_configuration=cfg)
                    if not self._namespace and IN_CLUSTER_NAMESPACE.exists():
                        self._namespace = IN_CLUSTER_NAMESPACE.read_text().strip()
                except ConfigException:
                    path = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
                    try:
                        config.load_kube_config(config_file=path, client_configuration=cfg)
                        if not self._namespace:
                            _, active = config.list_kube_config_contexts(config_file=path)
                            self._namespace = (active or {}).get("context", {}).get("namespace")
                    except (ConfigException, OSError) as exc:
                        raise ExecutorUnavailable(
                            "no Kubernetes configuration: not running in a cluster and "
                            f"KUBECONFIG ({path}) cannot be loaded: {exc}"
                        ) from None
                # Each running query holds one watch connection.
                cfg.connection_pool_maxsize = self.settings.max_sandboxes * 2 + 4
                self._api_client = client.ApiClient(cfg)
            if not self._namespace:
                self._namespace = "default"
            return self._api_client

    @property
    def namespace(self) -> str:
        self._client()
        return self._namespace or "default"

    # --- run -----------------------------------------------------------------------

    async def run(self, request: dict[str, Any]) -> dict[str, Any]:
        name = f"corral-run-{uuid.uuid4().hex[:12]}"
        cancelled = threading.Event()
        try:
            return await asyncio.to_thread(self._run_job, name, request, cancelled)
        except asyncio.CancelledError:
            cancelled.set()
            await asyncio.shield(asyncio.to_thread(self._delete_job, name))
            raise

    def _run_job(
        self, name: str, request: dict[str, Any], cancelled: threading.Event
    ) -> dict[str, Any]:
        run = _Run(name, request, time.monotonic(), self.settings.sandbox_grace_ms / 1000)
        try:
            api = self._client()
        except ExecutorUnavailable as exc:
            return run.failed("unavailable", str(exc))
        body = build_job(name, request, self.settings.runner_image, self.template,
                         self._table_files() if "tables" in request else None)
        run.start_deadline = run.started + body["spec"]["activeDeadlineSeconds"]
        try:
            try:
                client.BatchV1Api(api).create_namespaced_job(self.namespace, body)
            except ApiException as exc:
                return run.failed("unavailable", self._create_error(exc))
            except HTTPError as exc:
                return run.failed("unavailable", f"cannot reach the Kubernetes API: {exc}")
            run.mark("created")
            try:
                result = self._follow(run, cancelled)
                run.mark("result_read")
                return result
            except ApiException as exc:
                return run.failed("crashed", f"Kubernetes API error while waiting: {exc.status} "
                                  f"{_api_error_message(exc)}")
            except HTTPError as exc:
                return run.failed("crashed", f"lost the Kubernetes API while waiting: {exc}")
        finally:
            self._delete_later(run)

    def _delete_later(self, run: _Run) -> None:
        """Delete the run's Job and pod in the background: the answer does not wait for two
        more API round trips (the bench's `delete` step). close() and wait_deleted() wait."""
        with self._deleted:
            self._deleting += 1
        observer = self.stage_observer  # the one set while this run ran

        def delete() -> None:
            try:
                self._delete_job(run.name, run.pod)
                run.mark("deleted")
                if observer is not None:
                    observer(StageReport(dict(run.stages), run.wall_started, run.pod,
                                         run.container_id))
            finally:
                with self._deleted:
                    self._deleting -= 1
                    self._deleted.notify_all()

        threading.Thread(target=delete, name=f"delete-{run.name}", daemon=True).start()

    def wait_deleted(self, timeout: float = 30.0) -> bool:
        """Block until every finished run's Job and pod have been deleted; False on timeout."""
        with self._deleted:
            return self._deleted.wait_for(lambda: self._deleting == 0, timeout)

    def _create_error(self, exc: ApiException) -> str:
        message = _api_error_message(exc)
        if exc.status == 403 and "exceeded quota" in message:
            return f"namespace {self.namespace} has no quota left for another runner Job: {message}"
        if exc.status == 403:
            return (f"Kubernetes refused to create the runner Job in namespace {self.namespace}: "
                    f"{message} (the agent's Role must grant create on jobs)")
        return f"Kubernetes refused the runner Job ({exc.status}): {message}"

    def _follow(self, run: _Run, cancelled: threading.Event) -> dict[str, Any]:
        """Watch the Job's pod until its runner container ends, is killed at the deadline,
        or cannot start; re-list whenever the watch expires (410 Gone)."""
        core = client.CoreV1Api(self._client())
        selector = f"{JOB_LABEL}={run.name}"
        resource_version: str | None = None
        while True:
            if cancelled.is_set():
                return run.failed("crashed", "the run was cancelled")
            remaining = run.deadline() - time.monotonic()
            if remaining <= 0:
                return self._expired(run)
            if resource_version is None:
                pods = core.list_namespaced_pod(self.namespace, label_selector=selector)
                resource_version = pods.metadata.resource_version
                outcome = next(filter(None, (self._on_pod(run, p, "ADDED") for p in pods.items)),
                               None)
                if isinstance(outcome, dict):
                    return outcome
                continue  # deadlines may have moved (the container started)
            w = watch.Watch()
            try:
                for event in w.stream(
                    core.list_namespaced_pod, self.namespace, label_selector=selector,
                    resource_version=resource_version, allow_watch_bookmarks=True,
                    timeout_seconds=max(1, math.ceil(remaining)),
                    _request_timeout=remaining + 10,
                ):
                    resource_version = w.resource_version or resource_version
                    if event["type"] == "BOOKMARK":
                        continue
                    outcome = self._on_pod(run, event["object"], event["type"])
                    if isinstance(outcome, dict):
                        return outcome
                    if outcome is RESTART or cancelled.is_set():
                        break  # a fresh watch, timed to the new deadline
                    if time.monotonic() >= run.deadline():
                        break
            except ApiException as exc:
                if exc.status != 410:
                    raise
                log.info("watch on %s expired (410 Gone); listing again", run.name)
                resource_version = None
            finally:
                w.stop()

    def _on_pod(self, run: _Run, pod: Any, kind: str) -> dict[str, Any] | object | None:
        """A result once the runner container has ended or cannot start; RESTART after
        its log was followed to the end without a result; None while it may still run."""
        run.pod = pod.metadata.name
        run.mark("pod_seen")
        if kind == "DELETED":
            return self._vanished(run)
        status = pod.status
        cs = next((c for c in (status.container_statuses if status else None) or []
                   if c.name == CONTAINER), None)
        waiting = cs.state.waiting if cs and cs.state else None
        if waiting and waiting.reason in IMAGE_FAILURES:
            return run.failed("unavailable", f"the runner image {cs.image} cannot be pulled "
                              f"({waiting.reason}): {waiting.message or 'no detail'}; check "
                              "RUNNER_IMAGE / the chart's runner image and imagePullSecrets")
        if waiting and waiting.reason in CONFIG_FAILURES:
            return run.failed("unavailable", f"the runner container cannot be created "
                              f"({waiting.reason}): {waiting.message or 'no detail'}")
        run.pending_note = _pending_note(pod) or run.pending_note
        if pod.spec and pod.spec.node_name:
            run.mark("scheduled")
        terminated = cs.state.terminated if cs and cs.state else None
        if terminated is not None:
            return self._finished(run, pod, terminated)
        if status and status.phase == "Failed":  # e.g. the Job's deadline, before any start
            return self._vanished(run)
        if cs and cs.container_id:
            run.container_id = cs.container_id.partition("://")[2] or cs.container_id
        if cs and cs.state and cs.state.running and not run.streamed:
            run.mark("started")
            run.container_started()
            return self._stream(run) or RESTART
        return None

    def _stream(self, run: _Run) -> dict[str, Any] | None:
        """Follow the runner's log while it runs: the framed result ends the run the moment
        it is written, without waiting for the kubelet to report the container's end."""
        run.streamed = True
        try:
            resp = client.CoreV1Api(self._client()).read_namespaced_pod_log(
                run.pod, self.namespace, container=CONTAINER, follow=True,
                limit_bytes=run.log.cap + 1, _preload_content=False,
                _request_timeout=(10, max(0.5, run.deadline() - time.monotonic())),
            )
        except ApiException as exc:
            if exc.status in (400, 404):  # already gone or not yet there: the watch decides
                return None
            raise
        run.mark("log_open")
        try:
            for chunk in resp.stream(1 << 16, decode_content=False):
                run.log.feed(chunk)
                if run.log.exceeded:
                    return self._stop(run, output_exceeded=True)
                line = run.log.framed_result()
                if line is not None:
                    run.mark("runner_done")
                    return run.result(Ending(stdout=line))
                if time.monotonic() >= run.deadline():
                    return self._expired(run)
            run.log_complete = True
        except HTTPError:  # the read timed out at the deadline, or the stream broke
            if time.monotonic() >= run.deadline():
                return self._expired(run)
        finally:
            resp.release_conn()
        return None

    def _finished(self, run: _Run, pod: Any, terminated: Any) -> dict[str, Any]:
        """The container ended: its framed result if it wrote one, else what its exit says."""
        run.mark("runner_done")
        if not run.log_complete:
            self._read_log(run)
        frame = parse_frame(terminated.message) or run.log.end_frame()
        line = run.log.framed_result(frame)
        if line is not None:
            return run.result(Ending(stdout=line))
        if frame is not None:  # the runner answered, but the log holds more than that
            return run.failed("crashed", "The sandbox answered with a log that does not start "
                              f"with the result its frame names ({frame['bytes']} bytes): "
                              "something else wrote to the runner's result stream")
        # Killed for the Job's deadline (SIGTERM from the Job controller) is a timeout.
        deadline = pod.status.reason == "DeadlineExceeded" or (
            terminated.exit_code != 0 and self._job_failure(run)[0] == "DeadlineExceeded")
        written = run.log.stdout()
        return run.result(Ending(
            stdout=written,
            # Before the runner silences fd 2 (an import error, say), it reaches the log.
            stderr_tail=written[-STDERR_TAIL:],
            exit_code=terminated.exit_code,
            oom_killed=self._oom_killed(terminated),
            timed_out=deadline,
            output_exceeded=run.log.exceeded,
        ))

    @staticmethod
    def _oom_killed(terminated: Any) -> bool:
        """Whether the kernel killed the runner for memory. A SIGKILL we did not send (our
        kills end the run before the container's end is read) is the cgroup OOM killer:
        the project's test cluster (containerd 1.6, cgroup v1) reports it as reason
        "Error", exit 137. The same rule as the Docker executor's."""
        return terminated.reason == "OOMKilled" or terminated.exit_code == 128 + signal.SIGKILL

    def _read_log(self, run: _Run) -> None:
        try:
            resp = client.CoreV1Api(self._client()).read_namespaced_pod_log(
                run.pod, self.namespace, container=CONTAINER, limit_bytes=run.log.cap + 1,
                _preload_content=False,
            )
        except ApiException as exc:
            log.warning("cannot read the log of %s: %s", run.pod, _api_error_message(exc))
            return
        run.log = LogReader(run.log.cap)
        run.log.feed(resp.data)
        run.log_complete = True

    def _expired(self, run: _Run) -> dict[str, Any]:
        """The wall-clock deadline passed: kill from outside, report a timeout."""
        if run.kill_at is None:
            self._delete_job(run.name, run.pod)
            return run.timeout()
        return self._stop(run, timed_out=True)

    def _stop(self, run: _Run, **how: bool) -> dict[str, Any]:
        self._delete_job(run.name, run.pod)
        return run.result(Ending(stdout=b"", **how))

    def _vanished(self, run: _Run) -> dict[str, Any]:
        """The pod was removed or failed without a container result: ask its Job why."""
        reason, message = self._job_failure(run)
        if reason == "DeadlineExceeded":
            return run.timeout()
        if reason == "gone":
            return run.failed("crashed", "the runner Job was deleted before it finished")
        if reason:
            return run.failed("crashed", f"the runner Job failed: {reason}: {message}")
        return run.failed("crashed", "the runner pod was removed before it finished "
                          "(evicted, preempted or deleted by hand)")

    def _job_failure(self, run: _Run) -> tuple[str, str]:
        """(reason, message) of the Job's failure ("gone" when deleted), or ("", "")."""
        try:
            job = client.BatchV1Api(self._client()).read_namespaced_job(run.name, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return "gone", ""
            raise
        for cond in (job.status.conditions if job.status else None) or []:
            # FailureTarget comes first, while the controller still stops the pods.
            if cond.type in ("Failed", "FailureTarget") and cond.status == "True":
                return cond.reason or "Failed", cond.message or ""
        return "", ""

    def _delete_job(self, name: str, pod: str | None = None) -> None:
        """Remove the Job and, at once, its pod: grace 0 kills a runner still running (the
        deadline) and leaves nothing for the garbage collector to find later."""
        # The answers are not needed (and differ between versions): not deserialised.
        calls = [lambda: client.BatchV1Api(self._client()).delete_namespaced_job(
            name, self.namespace, propagation_policy="Background", _preload_content=False)]
        if pod:
            calls.append(lambda: client.CoreV1Api(self._client()).delete_namespaced_pod(
                pod, self.namespace, grace_period_seconds=0, _preload_content=False))
        for call in calls:  # the Job first: its controller must not replace the pod
            try:
                call()
            except ApiException as exc:
                if exc.status != 404:
                    log.warning("could not delete %s: %s", name, _api_error_message(exc))
            except (HTTPError, ExecutorUnavailable) as exc:
                log.warning("could not delete %s: %s", name, exc)

    # --- health and housekeeping ------------------------------------------------------

    async def check(self) -> None:
        # /readyz runs often; the access reviews are asked again at most every 30 s.
        if self._checked_at is not None and time.monotonic() - self._checked_at < CHECK_CACHE_S:
            return
        await asyncio.to_thread(self._check)
        self._checked_at = time.monotonic()

    def _check(self) -> None:
        api = self._client()
        authz = client.AuthorizationV1Api(api)
        missing = []
        for call in EXECUTOR_CALLS:
            review = {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {
                    "resourceAttributes": {
                        "namespace": self.namespace, "group": call.group,
                        "resource": call.resource, "subresource": call.subresource,
                        "verb": call.verb,
                    }
                },
            }
            try:
                answer = authz.create_self_subject_access_review(review)
            except ApiException as exc:
                raise ExecutorUnavailable(
                    f"Kubernetes API refused an access review ({exc.status}): "
                    f"{_api_error_message(exc)}"
                ) from None
            except HTTPError as exc:
                raise ExecutorUnavailable(f"cannot reach the Kubernetes API: {exc}") from None
            if not answer.status.allowed:
                missing.append(f"{call.verb} {call.rbac_resource}")
        if missing:
            raise ExecutorUnavailable(
                f"the agent's service account lacks RBAC permission in namespace "
                f"{self.namespace}: {', '.join(missing)} (install the chart's Role/RoleBinding)"
            )

    async def sweep(self) -> int:
        return await asyncio.to_thread(self._sweep)

    def _sweep(self) -> int:
        """Delete finished Corral Jobs a crashed server left (running ones belong to peers)."""
        try:
            jobs = client.BatchV1Api(self._client()).list_namespaced_job(
                self.namespace, label_selector=f"{SANDBOX_LABEL}={SANDBOX_LABEL_VALUE}"
            )
        except (ApiException, HTTPError, ExecutorUnavailable) as exc:
            log.warning("sweep skipped: %s", exc)
            return 0
        removed = 0
        for job in jobs.items:
            done = job.status and (job.status.completion_time or job.status.failed)
            if done:
                self._delete_job(job.metadata.name)
                removed += 1
        return removed

    async def close(self) -> None:
        await asyncio.to_thread(self.wait_deleted)
        if self._api_client is not None:
            await asyncio.to_thread(self._api_client.close)


@dataclass(frozen=True)
class StageReport:
    """One run's timeline, for benchmarks: `stages` in seconds since the run began
    (created: the API server accepted the Job; pod_seen: the first event of its pod;
    scheduled: a node named; started: the container reported running; log_open: the
    log stream answered; runner_done: the result frame read, or the container's end
    seen; result_read; deleted), the wall-clock time it began, and its pod and
    container (to match runtime events against)."""

    stages: dict[str, float]
    wall_started: float
    pod: str | None
    container_id: str | None


@dataclass
class _Run:
    """What one run has learnt so far, and its deadlines (time.monotonic())."""

    name: str
    request: dict[str, Any]
    started: float
    grace_s: float  # SANDBOX_GRACE_MS: after the runner's own timeout, before our kill
    start_deadline: float = math.inf  # the container has not run by then: timeout
    kill_at: float | None = None  # set when the container is seen running
    pod: str | None = None
    container_id: str | None = None
    wall_started: float = field(default_factory=time.time)
    pending_note: str = ""
    streamed: bool = False
    log_complete: bool = False
    log: LogReader = field(init=False)
    stages: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.log = LogReader(output_cap(self.request))

    def mark(self, stage: str) -> None:
        """When this run first reached `stage`, in seconds since it began."""
        self.stages.setdefault(stage, time.monotonic() - self.started)

    def deadline(self) -> float:
        return self.kill_at if self.kill_at is not None else self.start_deadline

    def container_started(self) -> None:
        if self.kill_at is None:
            self.kill_at = time.monotonic() + self.request["timeout_ms"] / 1000 + self.grace_s

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    def failed(self, status: str, message: str) -> dict[str, Any]:
        return contract.failed_result(self.request["run_id"], status, None, message,
                                      self.elapsed_ms())

    def timeout(self) -> dict[str, Any]:
        """A timeout; when the container never ran, say why it did not start."""
        if self.kill_at is not None:
            return self.result(Ending(stdout=b"", timed_out=True))
        note = f" ({self.pending_note})" if self.pending_note else ""
        return self.failed("timeout", "the runner did not start within "
                           f"{self.start_deadline - self.started:.0f} s{note}")

    def result(self, ending: Ending) -> dict[str, Any]:
        """The same mapping from how a sandbox ended to a status as every executor's."""
        ending.elapsed_ms = self.elapsed_ms()
        return result_from(self.request, ending)


def _pending_note(pod: Any) -> str:
    """Why a pod is not running yet (e.g. Unschedulable), for the timeout message."""
    for cond in (pod.status.conditions if pod.status else None) or []:
        if cond.type == "PodScheduled" and cond.status == "False":
            return f"pod not scheduled: {cond.reason}: {cond.message}"
    return ""

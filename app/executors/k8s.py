"""K8sJobExecutor: one Kubernetes Job per query, removed in every outcome.

The request travels in the env var RUNNER_REQUEST; the runner prints one result
JSON, which we read from the pod log before ttlSecondsAfterFinished can remove
the pod. The pod is locked down (restricted Pod Security profile, no service
account token, no service links, read-only root, /tmp an emptyDir with a size
limit) and carries the labels the chart's default-deny NetworkPolicy selects.

The runner pod template (labels, resources, security context, datasets volume,
TTL) comes from the Helm chart as a JSON file (K8S_RUNNER_TEMPLATE, a mounted
ConfigMap), so the labels the NetworkPolicy selects and the labels put on Jobs
are one value and cannot drift. Without a template (outside the chart) the same
fields are built from the sandbox settings.

The kubernetes client is synchronous; every call runs in a worker thread
(asyncio.to_thread) so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import threading
import time
import uuid
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
    SANDBOX_UID,
    Executor,
    ExecutorUnavailable,
)
from app.executors.outcome import answer_problem
from runner import contract

log = logging.getLogger(__name__)

CONTAINER = "runner"
RUNNER_UID = SANDBOX_UID
CHECK_CACHE_S = 30.0
JOB_LABEL = "io.corral.job"  # our own pod selector: independent of controller-added labels
IN_CLUSTER_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")

# Waiting reasons that never resolve by waiting: answer "unavailable" at once.
IMAGE_FAILURES = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
CONFIG_FAILURES = {"CreateContainerConfigError", "CreateContainerError"}

# Exactly what the chart's Role grants; check() asks the API server for each one.
REQUIRED_PERMISSIONS: tuple[tuple[str, str, str, str], ...] = (
    # (api group, resource, subresource, verb)
    ("batch", "jobs", "", "create"),
    ("batch", "jobs", "", "get"),
    ("batch", "jobs", "", "list"),
    ("batch", "jobs", "", "watch"),
    ("batch", "jobs", "", "delete"),
    ("", "pods", "", "get"),
    ("", "pods", "", "list"),
    ("", "pods", "", "watch"),
    ("", "pods", "log", "get"),
)

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
        "tmpSizeLimit": "64Mi",
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


def build_job(
    name: str, request: dict[str, Any], image: str, template: dict[str, Any]
) -> dict[str, Any]:
    """The Job body for one request. Security fields are fixed here: a template can add
    labels, resources or scheduling hints but never loosen the sandbox."""
    timeout_s = math.ceil(request["timeout_ms"] / 1000)
    labels = {
        **template.get("labels", {}),
        SANDBOX_LABEL: SANDBOX_LABEL_VALUE,
        JOB_LABEL: name,
    }
    volumes: list[dict[str, Any]] = [
        {"name": "tmp", "emptyDir": {"sizeLimit": template["tmpSizeLimit"]}}
    ]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
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
    if len(volumes) > 1:
        mounts.append({"name": "datasets", "mountPath": "/data", "readOnly": True})

    container = {
        "name": CONTAINER,
        "image": image,
        "imagePullPolicy": template.get("imagePullPolicy", "IfNotPresent"),
        "env": [
            {"name": "RUNNER_REQUEST", "value": json.dumps(request, separators=(",", ":"))},
            *({"name": name, "value": value} for name, value in SANDBOX_ENV.items()),
        ],
        "resources": template["resources"],
        "volumeMounts": mounts,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUNNER_UID,
            "runAsGroup": RUNNER_UID,
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
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
            "runAsUser": RUNNER_UID,
            "runAsGroup": RUNNER_UID,
            "fsGroup": RUNNER_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": volumes,
    }
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
            # The runner enforces timeout_ms itself; the Job deadline is the backstop and
            # also has to cover scheduling and the image pull.
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
        started = time.monotonic()
        run_id = request["run_id"]

        def failed(status: str, message: str) -> dict[str, Any]:
            elapsed = int((time.monotonic() - started) * 1000)
            return contract.failed_result(run_id, status, None, message, elapsed)

        try:
            api = self._client()
        except ExecutorUnavailable as exc:
            return failed("unavailable", str(exc))
        body = build_job(name, request, self.settings.runner_image, self.template)
        try:
            try:
                client.BatchV1Api(api).create_namespaced_job(self.namespace, body)
            except ApiException as exc:
                return failed("unavailable", self._create_error(exc))
            except HTTPError as exc:
                return failed("unavailable", f"cannot reach the Kubernetes API: {exc}")
            deadline = started + body["spec"]["activeDeadlineSeconds"] + 15
            try:
                return self._wait(name, request, deadline, cancelled, failed)
            except ApiException as exc:
                return failed("crashed", f"Kubernetes API error while waiting: {exc.status} "
                              f"{_api_error_message(exc)}")
            except HTTPError as exc:
                return failed("crashed", f"lost the Kubernetes API while waiting: {exc}")
        finally:
            self._delete_job(name)

    def _create_error(self, exc: ApiException) -> str:
        message = _api_error_message(exc)
        if exc.status == 403 and "exceeded quota" in message:
            return f"namespace {self.namespace} has no quota left for another runner Job: {message}"
        if exc.status == 403:
            return (f"Kubernetes refused to create the runner Job in namespace {self.namespace}: "
                    f"{message} (the agent's Role must grant create on jobs)")
        return f"Kubernetes refused the runner Job ({exc.status}): {message}"

    def _wait(self, name, request, deadline, cancelled, failed) -> dict[str, Any]:
        """Follow the Job's pod until it ends; re-list whenever the watch expires (410)."""
        core = client.CoreV1Api(self._client())
        selector = f"{JOB_LABEL}={name}"
        resource_version: str | None = None
        pending_note = ""
        while True:
            if cancelled.is_set():
                return failed("crashed", "the run was cancelled")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                note = f" ({pending_note})" if pending_note else ""
                return failed("timeout", f"the runner did not finish in time{note}")
            if resource_version is None:
                pods = core.list_namespaced_pod(self.namespace, label_selector=selector)
                resource_version = pods.metadata.resource_version
                for pod in pods.items:
                    outcome = self._outcome(name, pod, request, failed)
                    if outcome is not None:
                        return outcome
                    pending_note = _pending_note(pod) or pending_note
            w = watch.Watch()
            try:
                for event in w.stream(
                    core.list_namespaced_pod,
                    self.namespace,
                    label_selector=selector,
                    resource_version=resource_version,
                    allow_watch_bookmarks=True,
                    timeout_seconds=max(1, int(remaining)),
                    _request_timeout=remaining + 10,
                ):
                    resource_version = w.resource_version or resource_version
                    if event["type"] == "BOOKMARK":
                        continue
                    pod = event["object"]
                    if event["type"] == "DELETED":
                        outcome = self._job_failure(name, failed) or failed(
                            "crashed", "the runner pod was removed before it finished "
                            "(evicted, preempted or deleted by hand)")
                    else:
                        outcome = self._outcome(name, pod, request, failed)
                        pending_note = _pending_note(pod) or pending_note
                    if outcome is not None or cancelled.is_set():
                        w.stop()
                        return outcome or failed("crashed", "the run was cancelled")
            except ApiException as exc:
                if exc.status != 410:
                    raise
                log.info("watch on %s expired (410 Gone); listing again", name)
                resource_version = None
            finally:
                w.stop()

    def _outcome(self, name, pod, request, failed) -> dict[str, Any] | None:
        """A result once the pod has ended or cannot start; None while it may still run."""
        status = pod.status
        containers = (status.container_statuses if status else None) or []
        for cs in containers:
            waiting = cs.state.waiting if cs.state else None
            if waiting and waiting.reason in IMAGE_FAILURES:
                return failed("unavailable", f"the runner image {cs.image} cannot be pulled "
                              f"({waiting.reason}): {waiting.message or 'no detail'}; check "
                              "RUNNER_IMAGE / the chart's runner image and imagePullSecrets")
            if waiting and waiting.reason in CONFIG_FAILURES:
                return failed("unavailable", f"the runner container cannot be created "
                              f"({waiting.reason}): {waiting.message or 'no detail'}")
        phase = status.phase if status else None
        if phase not in ("Succeeded", "Failed"):
            return None
        terminated = next(
            (cs.state.terminated for cs in containers if cs.state and cs.state.terminated), None
        )
        if terminated is not None and terminated.reason == "OOMKilled":
            return failed("oom", "the runner ran out of memory (OOMKilled at the limit "
                          f"{self.template['resources']['limits'].get('memory')}); ask for "
                          "fewer rows or a smaller intermediate result")
        if status.reason == "DeadlineExceeded":
            return failed("timeout", f"the runner exceeded its deadline of "
                          f"{request['timeout_ms']} ms")
        result = self._read_result(pod.metadata.name, request, failed)
        if isinstance(result, dict):
            return result
        job_failure = self._job_failure(name, failed)
        if job_failure is not None and job_failure["status"] == "timeout":
            return job_failure
        if result == "output_limit":
            return failed("output_limit", "the runner wrote more than "
                          f"{request.get('max_output_bytes', contract.DEFAULT_MAX_OUTPUT_BYTES)}"
                          " bytes of output")
        code = terminated.exit_code if terminated is not None else "unknown"
        return failed("crashed", f"the runner exited (code {code}) without a result: {result}")

    def _read_result(self, pod_name: str, request: dict[str, Any], failed) -> Any:
        """The result JSON from the pod log, 'output_limit', or a reason why not."""
        cap = request.get("max_output_bytes", contract.DEFAULT_MAX_OUTPUT_BYTES)
        try:
            resp = client.CoreV1Api(self._client()).read_namespaced_pod_log(
                pod_name, self.namespace, container=CONTAINER, limit_bytes=cap + 65536,
                _preload_content=False,
            )
            data = resp.data
        except ApiException as exc:
            return f"its log cannot be read ({exc.status} {_api_error_message(exc)})"
        if len(data) > cap + 65535:
            return "output_limit"
        # stdout and stderr share the log: the result is the last line that is one.
        for line in reversed(data.decode("utf-8", errors="replace").splitlines()):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if answer_problem(request, message) is None:  # untrusted: same check as docker
                return message
        tail = data.decode("utf-8", errors="replace").strip()[-300:]
        return f"log ends with: {tail!r}" if tail else "the log is empty"

    def _job_failure(self, name, failed) -> dict[str, Any] | None:
        """Read the Job's conditions after its pod vanished or failed."""
        try:
            job = client.BatchV1Api(self._client()).read_namespaced_job_status(
                name, self.namespace
            )
        except ApiException as exc:
            if exc.status == 404:
                return failed("crashed", "the runner Job was deleted before it finished")
            raise
        for cond in (job.status.conditions if job.status else None) or []:
            if cond.type == "Failed" and cond.status == "True":
                if cond.reason == "DeadlineExceeded":
                    return failed("timeout", "the runner Job hit its deadline "
                                  f"(activeDeadlineSeconds={job.spec.active_deadline_seconds})")
                return failed("crashed", f"the runner Job failed: {cond.reason}: {cond.message}")
        return None

    def _delete_job(self, name: str) -> None:
        try:
            client.BatchV1Api(self._client()).delete_namespaced_job(
                name, self.namespace, propagation_policy="Background"
            )
        except ApiException as exc:
            if exc.status != 404:
                log.warning("could not delete Job %s: %s", name, _api_error_message(exc))
        except (HTTPError, ExecutorUnavailable) as exc:
            log.warning("could not delete Job %s: %s", name, exc)

    # --- health and housekeeping ------------------------------------------------------

    async def check(self) -> None:
        # /readyz runs often; nine access reviews are asked again at most every 30 s.
        if self._checked_at is not None and time.monotonic() - self._checked_at < CHECK_CACHE_S:
            return
        await asyncio.to_thread(self._check)
        self._checked_at = time.monotonic()

    def _check(self) -> None:
        api = self._client()
        authz = client.AuthorizationV1Api(api)
        missing = []
        for group, resource, sub, verb in REQUIRED_PERMISSIONS:
            review = {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {
                    "resourceAttributes": {
                        "namespace": self.namespace, "group": group, "resource": resource,
                        "subresource": sub, "verb": verb,
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
                what = f"{resource}/{sub}" if sub else resource
                missing.append(f"{verb} {what}")
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
        if self._api_client is not None:
            await asyncio.to_thread(self._api_client.close)


def _pending_note(pod: Any) -> str:
    """Why a pod is not running yet (e.g. Unschedulable), for the timeout message."""
    for cond in (pod.status.conditions if pod.status else None) or []:
        if cond.type == "PodScheduled" and cond.status == "False":
            return f"pod not scheduled: {cond.reason}: {cond.message}"
    return ""

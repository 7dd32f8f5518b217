"""A STAND-IN for the Kubernetes API server, for contract tests of K8sJobExecutor.

No real API server can run on the machines these tests run on. This is a small
HTTP server on 127.0.0.1 (ephemeral port) that implements only the endpoints the
executor calls, with the wire format of the real API (paths, query parameters,
JSON bodies, `Status` errors, newline-delimited watch events, 410 Gone as an
ERROR watch event, log bytes capped by `limitBytes`):

    POST   /apis/batch/v1/namespaces/{ns}/jobs
    GET    /apis/batch/v1/namespaces/{ns}/jobs[?labelSelector]
    GET    /apis/batch/v1/namespaces/{ns}/jobs/{name}
    DELETE /apis/batch/v1/namespaces/{ns}/jobs/{name}[?propagationPolicy]
    GET    /api/v1/namespaces/{ns}/pods?labelSelector=..[&watch=true&resourceVersion=..]
    DELETE /api/v1/namespaces/{ns}/pods/{name}
    GET    /api/v1/namespaces/{ns}/pods/{name}/log[?container&limitBytes&follow]
    POST   /apis/authorization.k8s.io/v1/selfsubjectaccessreviews

Every request is recorded as the RBAC call it is (`FakeCluster.calls`), so a test can
hold the executor to the list in app/executors/k8s_api.py.

What it does NOT do: schedule anything, run containers, enforce deadlines or
quotas by itself. A test scripts what the "cluster" does with a Job (a
`Scenario`: the pod states the watch reports, the log, the Job conditions).
The executor talks to it through the real `kubernetes` Python client and a
generated kubeconfig, so request building, (de)serialisation and the watch
machinery are the real ones.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlparse

NAMESPACE = "corral-test"


@dataclass
class Scenario:
    """What the stand-in cluster does with one Job."""

    # Pod status dicts in order: the list shows the first, the watch streams the rest.
    states: list[dict[str, Any]]
    log: bytes = b""
    # Job status conditions reported after the pod ended (e.g. DeadlineExceeded).
    job_conditions: list[dict[str, Any]] = field(default_factory=list)
    # After the last state, send a DELETED event (the Job controller removing the pod).
    delete_pod_at_end: bool = False
    # The first watch answers ERROR 410 Gone; the next list shows the final state.
    expire_first_watch: bool = False
    # Hold the pod at states[0] until this event is set (then stream the rest).
    hold_until: threading.Event | None = None
    # A followed log stays open after `log` (a runner that never ends) until the
    # client hangs up or the server closes.
    log_open: bool = False


def running() -> dict[str, Any]:
    return {"phase": "Running", "containerStatuses": [_cs({"running": {}})]}


def pending(reason: str | None = None, message: str = "") -> dict[str, Any]:
    state = {"waiting": {"reason": reason, "message": message}} if reason else {"waiting": {}}
    return {"phase": "Pending", "containerStatuses": [_cs(state)]}


def terminated(phase: str, exit_code: int, reason: str, message: str = "") -> dict[str, Any]:
    state = {"terminated": {"exitCode": exit_code, "reason": reason, "message": message}}
    return {"phase": phase, "containerStatuses": [_cs(state)]}


def _cs(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "runner", "image": "corral/runner:latest", "imageID": "", "ready": False,
        "restartCount": 0, "state": state,
    }


class FakeCluster:
    """State shared between the HTTP handler and the test."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rv = 100
        self.jobs: dict[str, dict[str, Any]] = {}  # live Jobs
        self.created: list[dict[str, Any]] = []  # every Job body POSTed
        self.deleted: list[tuple[str, str | None]] = []  # (name, propagationPolicy)
        self.deleted_pods: list[tuple[str, str | None]] = []  # (name, gracePeriodSeconds)
        self.calls: set[tuple[str, str, str, str]] = set()  # (verb, group, resource, sub)
        self.scenarios: dict[str, Scenario] = {}
        self.expired: set[str] = set()
        self.scenario_for: Callable[[dict[str, Any]], Scenario] | None = None
        self.create_error: tuple[int, str, str] | None = None  # (code, reason, message)
        self.denied: set[tuple[str, str, str]] = set()  # (resource, subresource, verb)
        self.reviews: list[dict[str, Any]] = []
        self.log_requests: list[dict[str, list[str]]] = []
        self.watch_count = 0
        self.closing = threading.Event()

    def next_rv(self) -> str:
        with self.lock:
            self.rv += 1
            return str(self.rv)

    def pod(self, job_name: str, status: dict[str, Any]) -> dict[str, Any]:
        job = self.jobs.get(job_name) or next(j for j in self.created if
                                               j["metadata"]["name"] == job_name)
        template = job["spec"]["template"]
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{job_name}-x7k2p",
                "namespace": NAMESPACE,
                "uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, job_name)),
                "resourceVersion": self.next_rv(),
                "labels": {**template["metadata"]["labels"], "job-name": job_name},
            },
            "spec": template["spec"],
            "status": status,
        }


def _rbac_call(method: str, parts: list[str], query: dict[str, list[str]]) -> tuple:
    """(verb, group, resource, subresource) as RBAC sees this request."""
    group = "" if parts[0] == "api" else parts[1]
    rest = parts[parts.index("namespaces") + 2:] if "namespaces" in parts else parts[-1:]
    resource, name, sub = (rest + ["", ""])[:3]
    verb = {"POST": "create", "DELETE": "delete"}.get(method)
    if verb is None:
        watching = query.get("watch", ["false"])[0] == "true"
        verb = "get" if name else ("watch" if watching else "list")
    return verb, group, resource, sub


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class _Handler(BaseHTTPRequestHandler):
    cluster: FakeCluster
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep pytest output quiet
        pass

    # --- helpers ------------------------------------------------------------------

    def _json(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _route(self) -> tuple[list[str], dict[str, list[str]]]:
        url = urlparse(self.path)
        parts, query = [p for p in url.path.split("/") if p], parse_qs(url.query)
        self.cluster.calls.add(_rbac_call(self.command, parts, query))
        return parts, query

    # --- verbs --------------------------------------------------------------------

    def do_POST(self) -> None:
        parts, _ = self._route()
        c = self.cluster
        body = self._body()
        if parts[-1] == "selfsubjectaccessreviews":
            attrs = body["spec"]["resourceAttributes"]
            c.reviews.append(attrs)
            key = (attrs["resource"], attrs.get("subresource", ""), attrs["verb"])
            body["status"] = {"allowed": key not in c.denied}
            return self._json(201, body)
        if parts[-1] == "jobs":
            if c.create_error:
                code, reason, message = c.create_error
                return self._json(code, _status(code, reason, message))
            name = body["metadata"]["name"]
            body["metadata"].update(
                namespace=NAMESPACE, uid=str(uuid.uuid4()), resourceVersion=c.next_rv()
            )
            body["status"] = {}
            c.jobs[name] = body
            c.created.append(json.loads(json.dumps(body)))
            c.scenarios[name] = c.scenario_for(body)
            return self._json(201, body)
        self._json(404, _status(404, "NotFound", f"no route {self.path}"))

    def do_DELETE(self) -> None:
        parts, query = self._route()
        c = self.cluster
        name = parts[-1]
        body = self._body()
        if parts[-2] == "pods":
            grace = (query.get("gracePeriodSeconds") or [body.get("gracePeriodSeconds")])[0]
            c.deleted_pods.append((name, None if grace is None else str(grace)))
            return self._json(200, _status(200, "", "") | {"status": "Success"})
        policy = (query.get("propagationPolicy") or [body.get("propagationPolicy")])[0]
        c.deleted.append((name, policy))
        if c.jobs.pop(name, None) is None:
            return self._json(404, _status(404, "NotFound", f'jobs.batch "{name}" not found'))
        self._json(200, _status(200, "", "") | {"status": "Success"})

    def do_GET(self) -> None:
        parts, query = self._route()
        c = self.cluster
        if parts[-1] == "log":
            c.log_requests.append(query)
            job_name = parts[-2].rsplit("-", 1)[0]
            scenario = c.scenarios[job_name]
            data = scenario.log
            if "limitBytes" in query:
                data = data[: int(query["limitBytes"][0])]
            if scenario.log_open and query.get("follow", ["false"])[0] == "true":
                return self._open_log(data)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if parts[-2] == "jobs":
            name = parts[-1]
            job = c.jobs.get(name)
            if job is None:
                return self._json(404, _status(404, "NotFound", f'jobs.batch "{name}" not found'))
            job = json.loads(json.dumps(job))
            job["status"] = {"conditions": c.scenarios[name].job_conditions}
            return self._json(200, job)
        if parts[-1] == "jobs":
            items = list(c.jobs.values())
            return self._json(200, {"apiVersion": "batch/v1", "kind": "JobList",
                                    "metadata": {"resourceVersion": c.next_rv()},
                                    "items": items})
        if parts[-1] == "pods":
            selector = query.get("labelSelector", [""])[0]
            job_name = selector.split("=", 1)[1]
            if query.get("watch", ["false"])[0] == "true":
                return self._watch(job_name, query)
            return self._list(job_name)
        self._json(404, _status(404, "NotFound", f"no route {self.path}"))

    def _open_log(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            if data:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            self.cluster.closing.wait(30)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def _list(self, job_name: str) -> None:
        c = self.cluster
        scenario = c.scenarios.get(job_name)
        items = []
        if scenario and job_name in c.jobs:
            state = scenario.states[-1] if job_name in c.expired else scenario.states[0]
            items.append(c.pod(job_name, state))
        self._json(200, {"apiVersion": "v1", "kind": "PodList",
                         "metadata": {"resourceVersion": c.next_rv()}, "items": items})

    def _watch(self, job_name: str, query: dict[str, list[str]]) -> None:
        c = self.cluster
        c.watch_count += 1
        scenario = c.scenarios[job_name]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def send(event: dict[str, Any]) -> None:
            data = json.dumps(event).encode() + b"\n"
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        try:
            if scenario.expire_first_watch and job_name not in c.expired:
                c.expired.add(job_name)
                send({"type": "ERROR", "object": _status(
                    410, "Expired", "too old resource version: 101 (205)")})
            elif job_name not in c.expired:
                if scenario.hold_until is not None:
                    scenario.hold_until.wait(30)
                pod = None
                for state in scenario.states[1:]:
                    pod = c.pod(job_name, state)
                    send({"type": "MODIFIED", "object": pod})
                if scenario.delete_pod_at_end and pod is not None:
                    send({"type": "DELETED", "object": c.pod(job_name, scenario.states[-1])})
                # A real watch stays open until timeoutSeconds; so does this one.
                c.closing.wait(min(float(query.get("timeoutSeconds", ["5"])[0]), 30))
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped the watch, as it should once the pod ended
        self.close_connection = True


class FakeApiServer:
    """Start with `with FakeApiServer(tmp_path) as api:`; `api.kubeconfig` is the file."""

    def __init__(self, tmp: Path) -> None:
        self.cluster = FakeCluster()
        handler = type("Handler", (_Handler,), {"cluster": self.cluster})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.kubeconfig = tmp / "kubeconfig"
        self.kubeconfig.write_text(kubeconfig(self.url))
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cluster.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def kubeconfig(server: str, namespace: str = NAMESPACE) -> str:
    return json.dumps({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": {"server": server}}],
        "users": [{"name": "agent", "user": {"token": "stand-in-token"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "agent",
                                                  "namespace": namespace}}],
        "current-context": "fake",
    })

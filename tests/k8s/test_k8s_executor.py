"""Contract tests of K8sJobExecutor against a STAND-IN Kubernetes API server.

What is real: the executor, the `kubernetes` Python client (request building,
kubeconfig loading, (de)serialisation, the watch machinery and its 410 handling),
HTTP on 127.0.0.1, the Kubernetes JSON schema the Job body is validated against
(kubernetes-validate --strict, its newest Kubernetes version).
What is a stand-in: the API server (tests/k8s/fake_apiserver.py). Each test
scripts what a cluster would report for the Job's pod: the pod states a watch
streams, the log, and the Job's conditions. No container runs, no deadline is
enforced by a kubelet, no quota by an admission controller: those behaviours
are the scripted answers. A live cluster is needed to verify them (make k8s-smoke).
"""

from __future__ import annotations

import asyncio
import json
import os

import kubernetes_validate
import pytest
from fake_apiserver import (
    NAMESPACE,
    FakeApiServer,
    Scenario,
    pending,
    running,
    terminated,
)
from pod_security import restricted_violations

from app.executors.base import SANDBOX_LABEL, ExecutorUnavailable
from app.executors.k8s import RUNNER_UIDS, K8sJobExecutor, build_job, load_template
from app.executors.k8s_api import EXECUTOR_CALLS
from app.settings import Settings
from runner import contract
from runner.channel import frame

TEMPLATE = {
    "labels": {"app.kubernetes.io/name": "corral", "app.kubernetes.io/component": "runner"},
    # Generous deadlines: only the tests about deadlines may depend on time (a loaded
    # machine must not turn a scripted success into a timeout).
    "startupGraceSeconds": 30,
    "ttlSecondsAfterFinished": 120,
}


def result_only(run_id: str) -> bytes:
    table = contract.ok_result(
        run_id, [{"name": "species", "type": "VARCHAR"}, {"name": "n", "type": "BIGINT"}],
        [["Adelie", 152], ["Gentoo", 124]], False, 12,
    )
    return json.dumps(table).encode() + b"\n"


def result_line(run_id: str) -> bytes:
    """What the runner writes to its log in a Job: the result, then its end line."""
    line = result_only(run_id)
    return line + frame(line)


@pytest.fixture(autouse=True)
def _no_agent_env(monkeypatch):
    """Settings read the environment: a K8S_NAMESPACE etc. of the caller must not leak in."""
    for name in list(os.environ):
        if name.startswith(("K8S_", "SANDBOX_", "RUNNER_", "KUBERNETES_")):
            monkeypatch.delenv(name)


@pytest.fixture
def api(tmp_path, monkeypatch):
    with FakeApiServer(tmp_path) as server:
        monkeypatch.setenv("KUBECONFIG", str(server.kubeconfig))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        yield server
        # Every API call the executor made is in app/executors/k8s_api.py (the Role).
        allowed = {(c.verb, c.group, c.resource, c.subresource) for c in EXECUTOR_CALLS}
        allowed.add(("create", "authorization.k8s.io", "selfsubjectaccessreviews", ""))
        made = server.cluster.calls
        assert made <= allowed, f"calls not in EXECUTOR_CALLS: {made - allowed}"


@pytest.fixture
def executor(api, tmp_path):
    template = tmp_path / "runner-template.json"
    template.write_text(json.dumps(TEMPLATE))
    settings = Settings(execution_mode="k8s", k8s_runner_template=str(template),
                        sandbox_grace_ms=30000)
    ex = K8sJobExecutor(settings)
    yield ex
    ex.wait_deleted()
    if ex._api_client is not None:
        ex._api_client.close()


def request(run_id: str = "run-1", timeout_ms: int = 1000) -> dict:
    return contract.make_request(run_id, "sql", "SELECT species, count(*) FROM penguins", 200,
                                 timeout_ms, max_output_bytes=4096)


def assert_job_deleted(api: FakeApiServer, ex: K8sJobExecutor) -> None:
    """Every Job created was deleted with propagationPolicy=Background, none is left, and
    its pod (once seen) was deleted at once (grace 0). The deletes run after the answer
    (K8sJobExecutor._delete_later): wait for them first."""
    assert ex.wait_deleted(), "the executor's deletes did not finish"
    created = [j["metadata"]["name"] for j in api.cluster.created]
    assert created, "no Job was created"
    assert api.cluster.jobs == {}, f"Jobs left behind: {list(api.cluster.jobs)}"
    for name in created:
        assert (name, "Background") in api.cluster.deleted
        assert (f"{name}-x7k2p", "0") in api.cluster.deleted_pods


async def test_success_returns_the_runners_table_and_deletes_the_job(api, executor):
    api.cluster.scenario_for = lambda job: Scenario(
        states=[pending(), running(), terminated("Succeeded", 0, "Completed")],
        log=result_line("run-1"), log_open=True,
    )
    result = await executor.run(request())
    assert result["status"] == "ok", result
    assert result["rows"] == [["Adelie", 152], ["Gentoo", 124]]
    assert contract.result_error(result) is None
    assert_job_deleted(api, executor)
    # The log was read from the runner container, capped.
    # One followed log stream, read while the container ran: the framed result ended
    # the run without waiting for the container to be reported finished.
    (log_query,) = api.cluster.log_requests
    assert log_query["follow"] == ["true"]
    assert log_query["container"] == ["runner"]
    assert int(log_query["limitBytes"][0]) > 4096
    # The Job carried the request in RUNNER_REQUEST and went to the kubeconfig's namespace.
    job = api.cluster.created[0]
    env = {e["name"]: e.get("value") for e in
           job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert json.loads(env["RUNNER_REQUEST"]) == request()
    assert job["metadata"]["namespace"] == NAMESPACE


async def test_job_deadline_is_reported_as_timeout(api, executor):
    # What a cluster does at activeDeadlineSeconds: kills the pod, removes it, and
    # marks the Job Failed/DeadlineExceeded.
    api.cluster.scenario_for = lambda job: Scenario(
        states=[running(), terminated("Failed", 143, "Error")],
        delete_pod_at_end=True,
        job_conditions=[{"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
                         "message": "Job was active longer than specified deadline"}],
    )
    result = await executor.run(request())
    assert result["status"] == "timeout", result
    assert "did not finish within its 1000 ms limit" in result["error"]["message"]
    assert result["error"]["type"] == "timeout"
    assert_job_deleted(api, executor)


async def test_oomkilled_is_reported_as_oom(api, executor):
    api.cluster.scenario_for = lambda job: Scenario(
        states=[running(), terminated("Failed", 137, "OOMKilled")],
    )
    result = await executor.run(request())
    assert result["status"] == "oom", result
    assert "more memory than the sandbox allows" in result["error"]["message"]
    assert_job_deleted(api, executor)


async def test_image_pull_failure_fails_fast_with_the_image_named(api, executor):
    # The watch reports ErrImagePull and then stays open: an executor that waited for the
    # pod to end would only come back at the deadline, as "timeout".
    api.cluster.scenario_for = lambda job: Scenario(
        states=[pending(), pending("ErrImagePull",
                                   'pull access denied for corral/runner, repository does not '
                                   'exist')],
    )
    result = await executor.run(request())
    assert result["status"] == "unavailable", result
    assert "corral/runner:latest cannot be pulled (ErrImagePull)" in result["error"]["message"]
    assert_job_deleted(api, executor)


async def test_image_pull_backoff_seen_in_the_first_list(api, executor):
    api.cluster.scenario_for = lambda job: Scenario(
        states=[pending("ImagePullBackOff", "Back-off pulling image")],
    )
    result = await executor.run(request())
    assert result["status"] == "unavailable"
    assert "ImagePullBackOff" in result["error"]["message"]
    assert_job_deleted(api, executor)


async def test_watch_expiry_410_relists_and_still_gets_the_result(api, executor):
    api.cluster.scenario_for = lambda job: Scenario(
        states=[pending(), running(), terminated("Succeeded", 0, "Completed")],
        log=result_line("run-1"),
        expire_first_watch=True,
    )
    result = await executor.run(request())
    assert result["status"] == "ok", result
    assert result["row_count"] == 2
    assert api.cluster.expired, "the stand-in did not expire the watch"
    assert_job_deleted(api, executor)


async def test_spinning_runner_is_killed_at_the_deadline_and_reported_as_timeout(api, tmp_path):
    """The runner never answers and its log stays open: the executor deletes the pod at
    RUN_TIMEOUT_MS + SANDBOX_GRACE_MS after the container started, long before the Job's
    activeDeadlineSeconds, and reports timeout (as Docker does), not crashed."""
    api.cluster.scenario_for = lambda job: Scenario(states=[pending(), running()],
                                                    log_open=True)
    settings = Settings(execution_mode="k8s", sandbox_grace_ms=0)
    ex = K8sJobExecutor(settings)
    try:
        result = await ex.run(request(timeout_ms=500))
    finally:
        await ex.close()
    assert result["status"] == "timeout", result
    assert "did not finish within its 500 ms limit" in result["error"]["message"]
    assert_job_deleted(api, ex)
    assert api.cluster.created[0]["spec"]["activeDeadlineSeconds"] == 1 + 60


@pytest.mark.parametrize("log", [
    b"warning: something\n" + result_line("run-1"),  # the log does not start with it
    result_only("run-1") + frame(result_only("run-2")),  # a frame for other bytes
    b'{"status": "ok"}\n' + result_line("run-1"),  # a forged line before the real one
], ids=["stray-line-first", "wrong-frame", "forged-line-first"])
async def test_only_a_framed_result_is_ever_taken(api, executor, log):
    api.cluster.scenario_for = lambda job: Scenario(
        states=[pending(), running(), terminated("Succeeded", 0, "Completed")], log=log)
    result = await executor.run(request())
    assert result["status"] == "crashed", result
    assert "answered with" in result["error"]["message"]
    assert_job_deleted(api, executor)


async def test_an_unframed_log_is_judged_like_docker_stdout(api, executor):
    """No frame at all (an older runner image): one valid result and nothing else is
    taken, as the Docker executor takes stdout; anything more is a crash."""
    api.cluster.scenario_for = lambda job: Scenario(
        states=[pending(), running(), terminated("Succeeded", 0, "Completed")],
        log=result_only("run-1"))
    assert (await executor.run(request()))["status"] == "ok"
    api.cluster.scenario_for = lambda job: Scenario(
        states=[pending(), running(), terminated("Succeeded", 0, "Completed")],
        log=b"noise\n" + result_only("run-2"))
    assert (await executor.run(request("run-2")))["status"] == "crashed"


async def test_termination_message_frames_a_log_read_after_the_end(api, executor):
    """A run that ended before it was seen running: the log is read once and the
    container's termination message (the frame) vouches for it."""
    line = result_only("run-1")
    api.cluster.scenario_for = lambda job: Scenario(
        states=[pending(), terminated("Succeeded", 0, "Completed", frame(line).decode())],
        log=line)
    result = await executor.run(request())
    assert result["status"] == "ok", result
    (log_query,) = api.cluster.log_requests
    assert "follow" not in log_query
    assert_job_deleted(api, executor)


async def test_quota_exceeded_on_create_is_unavailable_and_leaves_nothing(api, executor):
    api.cluster.create_error = (
        403, "Forbidden",
        (
            'jobs.batch "corral-run-1" is forbidden: exceeded quota: corral-runs, requested: '
            "count/jobs.batch=1, used: count/jobs.batch=8, limited: count/jobs.batch=8"
        ),
    )
    result = await executor.run(request())
    assert result["status"] == "unavailable", result
    assert "no quota left" in result["error"]["message"]
    assert "exceeded quota: corral-runs" in result["error"]["message"]
    assert api.cluster.jobs == {} and api.cluster.created == []


async def test_forbidden_create_names_the_missing_permission(api, executor):
    api.cluster.create_error = (
        403, "Forbidden",
        (
            'jobs.batch is forbidden: User "system:serviceaccount:corral-test:corral-agent" '
            'cannot create resource "jobs" in API group "batch"'
        ),
    )
    result = await executor.run(request())
    assert result["status"] == "unavailable"
    assert "must grant create on jobs" in result["error"]["message"]


async def test_log_flood_is_output_limit(api, executor):
    api.cluster.scenario_for = lambda job: Scenario(
        states=[running(), terminated("Succeeded", 0, "Completed")],
        log=b"x" * (4096 + 200_000),
    )
    result = await executor.run(request())
    assert result["status"] == "output_limit", result
    assert "more than 4096 bytes" in result["error"]["message"]
    assert_job_deleted(api, executor)


async def test_evicted_pod_is_reported_as_crashed(api, executor):
    # The pod disappears (eviction) while the Job has no failure condition yet.
    api.cluster.scenario_for = lambda job: Scenario(
        states=[running(), running()], delete_pod_at_end=True,
    )
    result = await executor.run(request())
    assert result["status"] == "crashed", result
    assert "removed before it finished" in result["error"]["message"]
    assert_job_deleted(api, executor)


async def test_crash_without_result_reports_exit_code_and_log_tail(api, executor):
    api.cluster.scenario_for = lambda job: Scenario(
        states=[running(), terminated("Failed", 1, "Error")],
        log=b"Traceback (most recent call last):\nImportError: no module named duckdb\n",
    )
    result = await executor.run(request())
    assert result["status"] == "crashed", result
    assert "exited with code 1" in result["error"]["message"]
    assert "no module named duckdb" in result["error"]["message"]
    assert_job_deleted(api, executor)


async def test_waiting_does_not_block_the_event_loop(api, executor):
    """The stand-in holds the pod Running until a coroutine on the same loop releases
    it. A blocking executor would keep that coroutine from running: the run would then
    only end at its deadline, as a timeout."""
    import threading

    release = threading.Event()
    api.cluster.scenario_for = lambda job: Scenario(
        states=[pending(), running(), terminated("Succeeded", 0, "Completed")],
        log=result_line("run-1"), hold_until=release,
    )

    async def releaser():
        while not api.cluster.watch_count:
            await asyncio.sleep(0.01)
        release.set()

    result, _ = await asyncio.gather(executor.run(request()), releaser())
    assert result["status"] == "ok", result
    assert_job_deleted(api, executor)


async def test_check_asks_for_exactly_the_chart_permissions(api, executor):
    await executor.check()
    asked = {(r["group"], r["resource"], r["subresource"], r["verb"])
             for r in api.cluster.reviews}
    assert asked == {(c.group, c.resource, c.subresource, c.verb) for c in EXECUTOR_CALLS}
    assert {r["namespace"] for r in api.cluster.reviews} == {NAMESPACE}


async def test_check_names_a_missing_permission(api, executor):
    api.cluster.denied = {("pods", "log", "get"), ("jobs", "", "delete")}
    with pytest.raises(ExecutorUnavailable) as err:
        await executor.check()
    assert "delete jobs" in str(err.value)
    assert "get pods/log" in str(err.value)


async def test_unreachable_api_fails_check_and_run_clearly(tmp_path, monkeypatch):
    # A port nothing listens on: bind, note it, close.
    import socket

    from fake_apiserver import kubeconfig

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    path = tmp_path / "kubeconfig"
    path.write_text(kubeconfig(f"http://127.0.0.1:{port}"))
    monkeypatch.setenv("KUBECONFIG", str(path))
    ex = K8sJobExecutor(Settings(execution_mode="k8s"))
    with pytest.raises(ExecutorUnavailable, match="cannot reach the Kubernetes API"):
        await ex.check()
    result = await ex.run(request())
    assert result["status"] == "unavailable"
    assert "cannot reach the Kubernetes API" in result["error"]["message"]


async def test_no_kubeconfig_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    ex = K8sJobExecutor(Settings(execution_mode="k8s"))
    with pytest.raises(ExecutorUnavailable, match="not running in a cluster and KUBECONFIG"):
        await ex.check()


# --- the Job body itself ------------------------------------------------------------


def job_for(**settings) -> dict:
    s = Settings(execution_mode="k8s", **settings)
    return build_job("corral-run-0123456789ab", request(), s.runner_image, load_template(s))


@pytest.mark.parametrize("datasets", ["", "pvc:corral-datasets", "configmap:corral-datasets"])
def test_job_body_is_valid_against_the_kubernetes_schema(datasets):
    job = job_for(k8s_datasets_source=datasets)
    version = kubernetes_validate.latest_version()
    kubernetes_validate.validate(job, version, strict=True)  # raises with the bad field


def test_job_body_meets_pod_security_restricted_and_the_sandbox_rules():
    job = job_for()
    spec = job["spec"]
    pod = spec["template"]["spec"]
    assert restricted_violations(pod) == []
    (c,) = pod["containers"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    # A uid of its own per pod (RLIMIT_NPROC counts per uid), never the agent's.
    assert c["securityContext"]["runAsUser"] in RUNNER_UIDS
    assert pod["securityContext"]["runAsUser"] == c["securityContext"]["runAsUser"]
    assert c["terminationMessagePath"] == "/dev/termination-log"
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    assert pod["restartPolicy"] == "Never"
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 1 + 60  # timeout (1 s) + startup grace
    assert spec["ttlSecondsAfterFinished"] == 300
    for kind in ("requests", "limits"):
        assert set(c["resources"][kind]) == {"cpu", "memory", "ephemeral-storage"}
    assert c["resources"]["limits"]["memory"] == "512Mi"
    # Scratch space is the runtime's /dev/shm (a size-capped noexec tmpfs), not a volume:
    # a pod with volumes waits for the kubelet's volume manager (300 ms polls).
    assert "volumes" not in pod and "volumeMounts" not in c
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["TMPDIR"] == env["HOME"] == c["workingDir"] == "/dev/shm"
    # The labels the NetworkPolicy selects are on the pod.
    labels = spec["template"]["metadata"]["labels"]
    assert labels[SANDBOX_LABEL] == "runner"
    assert labels["app.kubernetes.io/component"] == "runner"
    # Baked datasets by default: nothing mounted at /data (nothing mounted at all, above).


def test_datasets_volume_is_mounted_read_only():
    job = job_for(k8s_datasets_source="pvc:corral-datasets")
    pod = job["spec"]["template"]["spec"]
    vol = next(v for v in pod["volumes"] if v["name"] == "datasets")
    assert vol["persistentVolumeClaim"] == {"claimName": "corral-datasets", "readOnly": True}
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "datasets")
    assert mount == {"name": "datasets", "mountPath": "/data", "readOnly": True}


def test_a_template_cannot_loosen_the_security_context(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"securityContext": {"privileged": True}, "runAsUser": 0,
                                "labels": {"team": "data"}}))
    job = job_for(k8s_runner_template=str(path))
    pod = job["spec"]["template"]["spec"]
    assert restricted_violations(pod) == []
    assert job["spec"]["template"]["metadata"]["labels"]["team"] == "data"


def test_bad_datasets_source_is_refused_naming_the_variable():
    from app.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="K8S_DATASETS_SOURCE"):
        load_settings(execution_mode="k8s", k8s_datasets_source="nfs:/srv/data")


async def test_sweep_removes_only_finished_corral_jobs(api, executor):
    def job(name, status):
        return {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": name, "namespace": NAMESPACE,
                             "labels": {SANDBOX_LABEL: "runner"}},
                "spec": {"template": {"metadata": {}, "spec": {"containers": []}}},
                "status": status}

    api.cluster.jobs["corral-run-done"] = job("corral-run-done",
                                              {"completionTime": "2026-01-01T00:00:00Z"})
    api.cluster.jobs["corral-run-failed"] = job("corral-run-failed", {"failed": 1})
    api.cluster.jobs["corral-run-active"] = job("corral-run-active", {"active": 1})
    assert await executor.sweep() == 2
    assert list(api.cluster.jobs) == ["corral-run-active"]
    assert ("corral-run-done", "Background") in api.cluster.deleted


def test_unreadable_runner_template_stops_start_up_naming_the_variable(tmp_path):
    bad = tmp_path / "t.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="K8S_RUNNER_TEMPLATE"):
        K8sJobExecutor(Settings(execution_mode="k8s", k8s_runner_template=str(bad)))


def _forged(**fields) -> bytes:
    """A result framed exactly as the runner frames it (Python-mode code can do that
    from inside the runner's process), but lying: the content check must refuse it."""
    table = json.loads(result_only("run-1"))
    table.update(fields)
    line = json.dumps(table).encode() + b"\n"
    return line + frame(line)


@pytest.mark.parametrize("log", [
    _forged(run_id="someone-else"),
    _forged(row_count=99),
    _forged(status="rejected", columns=[], rows=[], row_count=0,
            error={"type": "rejected", "message": "forged"}),
    _forged(rows=[["Adelie", 152, "extra"], ["Gentoo", 124]]),
], ids=["foreign run_id", "row_count lie", "server status", "row wider than columns"])
async def test_a_forged_result_in_the_log_is_never_believed(api, executor, log):
    api.cluster.scenario_for = lambda job: Scenario(
        states=[running(), terminated("Succeeded", 0, "Completed")], log=log)
    result = await executor.run(request())
    assert result["status"] == "crashed", result
    assert result["run_id"] == "run-1" and result["rows"] == []
    assert_job_deleted(api, executor)

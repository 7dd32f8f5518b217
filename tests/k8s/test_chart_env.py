"""Every environment value the chart renders, checked by the program that will read it.

The chart is rendered by the real helm binary with its default values and with every
charts/corral/ci/*-values.yaml. The agent-server container's environment goes through
the agent's own settings object (app/settings.py: load_settings, as at start-up) and
the executor's template loader, with the ConfigMaps and Secrets the pod mounts laid
out as files; the runner Job's environment goes through the runner's request check.
A value the app would refuse (the default install once rendered MAX_OUTPUT_BYTES as
"4.194304e+06") fails here in seconds, before any cluster.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from test_k8s_chart import CHART, CI_VALUES, docs, helm, runner_job  # noqa: F401 - fixture

from app.executors.k8s import K8sJobExecutor
from app.settings import Settings, SettingsError, load_settings
from runner.request_check import request_problem

NAMESPACE = "corral"
RENDERS = [pytest.param((), id="defaults")] + [
    pytest.param(("-f", str(p)), id=p.stem) for p in CI_VALUES
]
# The UI image's entrypoint reads these two (app/ui/Dockerfile).
UI_ENV = {"LISTEN_PORT", "AGENT_URL"}


def containers(manifests: list[dict]) -> list[tuple[str, dict, dict]]:
    """(workload name, pod spec, container) for every container the chart renders."""
    found = []
    for d in manifests:
        spec = d.get("spec") or {}
        pod = spec.get("template", {}).get("spec") if d["kind"] in ("Deployment", "Job") else None
        pod = spec if d["kind"] == "Pod" else pod
        for c in (pod or {}).get("containers", []) + (pod or {}).get("initContainers", []):
            found.append((d["metadata"]["name"], pod, c))
    return found


def env_values(container: dict) -> dict[str, str]:
    """name -> value as the kubelet would set it (fieldRefs answered for our namespace)."""
    env = {}
    for e in container.get("env", []):
        if "value" in e:
            assert isinstance(e["value"], str), f"{e['name']}: env values are strings"
            env[e["name"]] = e["value"]
        elif e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.namespace":
            env[e["name"]] = NAMESPACE
        else:
            pytest.fail(f"{e['name']}: no test knows how to resolve {e}")
    return env


def lay_out_mounts(manifests: list[dict], pod: dict, container: dict, root: Path) -> dict:
    """Write each mounted ConfigMap/Secret under root; return {mount path: local path}."""
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in manifests}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    paths = {}
    for mount in container.get("volumeMounts", []):
        vol = volumes[mount["name"]]
        if "configMap" in vol:
            obj = by_name.get(("ConfigMap", vol["configMap"]["name"]), {})
            files = dict(obj.get("data", {}))
        elif "secret" in vol:
            obj = by_name.get(("Secret", vol["secret"]["secretName"]))
            # An existingSecret is not rendered: the user provides it; any key will do.
            data = (obj or {}).get("data") or {}
            files = {k: base64.b64decode(v).decode() for k, v in data.items()} if obj else {}
            files.update({k: v for k, v in ((obj or {}).get("stringData") or {}).items()})
            for item in vol["secret"].get("items", []):
                files[item["path"]] = files.pop(item["key"], "placeholder-key")
        else:
            continue
        local = root / mount["name"]
        local.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (local / name).write_text(text)
        sub = mount.get("subPath")
        paths[mount["mountPath"]] = str(local / sub) if sub else str(local)
    return paths


def localise(value: str, mounts: dict[str, str]) -> str:
    for mount_path, local in sorted(mounts.items(), key=lambda m: -len(m[0])):
        if value == mount_path or value.startswith(mount_path.rstrip("/") + "/"):
            return local + value[len(mount_path):]
    return value


def agent_settings(env: dict[str, str], monkeypatch) -> Settings:
    """load_settings() over exactly this environment, as the agent's start-up calls it."""
    for name in list(os.environ):
        if name.lower() in Settings.model_fields:
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        return load_settings()
    except SettingsError as exc:
        pytest.fail(f"the agent would refuse to start: {exc}")


@pytest.mark.parametrize("args", RENDERS)
def test_every_env_value_is_accepted_by_the_program_that_reads_it(helm, args, tmp_path,  # noqa: F811
                                                                   monkeypatch):
    manifests = docs(helm, *args)
    seen = set()
    for workload, pod, container in containers(manifests):
        env = env_values(container)
        if container["name"] == "agent-server":
            unknown = {n for n in env if n.lower() not in Settings.model_fields}
            assert not unknown, f"{workload}: env vars the settings do not know: {unknown}"
            mounts = lay_out_mounts(manifests, pod, container, tmp_path / workload)
            settings = agent_settings({n: localise(v, mounts) for n, v in env.items()},
                                      monkeypatch)
            K8sJobExecutor(settings)  # reads and checks the runner template, as start-up does
        elif container["name"] == "ui":
            assert set(env) == UI_ENV, workload
            assert 1024 <= int(env["LISTEN_PORT"]) <= 65535
            assert env["AGENT_URL"].startswith("http://")
        else:
            assert not env, f"{workload}/{container['name']}: env no test validates: {env}"
        seen.add(container["name"])
    assert {"agent-server", "ui"} <= seen


@pytest.mark.parametrize("args", RENDERS)
def test_runner_job_env_is_a_request_the_runner_accepts(helm, args, tmp_path):  # noqa: F811
    (c,) = runner_job(docs(helm, *args), tmp_path)["spec"]["template"]["spec"]["containers"]
    env = env_values(c)
    request = yaml.safe_load(env.pop("RUNNER_REQUEST"))
    assert request_problem(request) is None
    # runner/channel.py: the frame goes where the kubelet reads the termination message.
    assert env.pop("CORRAL_RESULT_FRAME") == c["terminationMessagePath"]
    assert 8 <= int(env.pop("CORRAL_PROCESS_LIMIT")) <= 4096
    # Scratch space: the container's /dev/shm, also its working directory.
    assert env.pop("TMPDIR") == env.pop("HOME") == c["workingDir"] == "/dev/shm"
    assert all(v.isdigit() for v in env.values()), env  # the thread-count and Python flags


def test_large_integers_render_as_digits(helm):  # noqa: F811
    """The regression itself: helm's float64 numbers once reached the env as 4.194304e+06."""
    manifests = docs(helm, "--set", "limits.maxOutputBytes=67108864",
                     "--set", "limits.runTimeoutMs=600000")
    (_, _, agent), = [x for x in containers(manifests) if x[2]["name"] == "agent-server"]
    env = env_values(agent)
    assert env["MAX_OUTPUT_BYTES"] == "67108864"
    assert env["RUN_TIMEOUT_MS"] == "600000"


def test_values_missing_from_an_older_release_keep_the_process_limit(helm, tmp_path):  # noqa: F811
    """`helm upgrade --reuse-values` from a release made before runner.processLimit
    existed renders without it: the runner template must still carry the limit."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    del values["runner"]["processLimit"]
    old = tmp_path / "chart"
    shutil.copytree(CHART, old)
    (old / "values.yaml").write_text(yaml.safe_dump(values))
    schema = old / "values.schema.json"
    schema.unlink()  # the older chart had no such key in its schema either
    proc = subprocess.run([helm, "template", "corral", str(old)], text=True,
                          capture_output=True, check=True)
    (c,) = runner_job([d for d in yaml.safe_load_all(proc.stdout) if d],
                      tmp_path)["spec"]["template"]["spec"]["containers"]
    assert env_values(c)["CORRAL_PROCESS_LIMIT"] == "64"

"""DockerExecutor beyond one run: the hardened container config, sweep, health check
messages, concurrency, and datasets from a mounted source instead of the image."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import docker
import duckdb
import pytest
from sandbox_helpers import DATASETS, new_run_id, run, sandbox_settings, table

from app.executors import ExecutorUnavailable
from app.executors.base import SANDBOX_LABEL, SANDBOX_LABEL_VALUE
from app.executors.docker import DockerExecutor

pytestmark = pytest.mark.docker


def _inspect(cid: str) -> dict:
    return json.loads(subprocess.run(["docker", "inspect", cid], capture_output=True,
                                     check=True, text=True).stdout)[0]


async def test_container_is_created_with_every_hardening_flag(docker_executor):
    # Create (never start) a container from exactly the config runs use, and read it back
    # from the daemon: what Docker applied, not what we meant to send.
    run_id = new_run_id()
    api = docker_executor._api()
    cid = api.create_container(**docker_executor._container_config(run_id))["Id"]
    try:
        info = _inspect(cid)
    finally:
        api.remove_container(cid, force=True)
    host, config = info["HostConfig"], info["Config"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["PidsLimit"] == 64
    assert host["Memory"] == host["MemorySwap"] == 512 * 1024**2
    assert host["NanoCpus"] == 500_000_000
    assert host["Tmpfs"] == {"/tmp": "rw,noexec,nosuid,nodev,size=64m"}
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["Privileged"] is False
    assert host["LogConfig"]["Type"] == "none"
    assert not host.get("Binds") and not host.get("Mounts")  # datasets come from the image
    assert config["User"] == "10001:10001"
    # Labels the image itself carries (e.g. a build's context hash) are inherited too.
    assert {SANDBOX_LABEL: SANDBOX_LABEL_VALUE, "io.corral.run_id": run_id}.items() <= (
        config["Labels"].items()
    )
    assert "OMP_NUM_THREADS=1" in config["Env"]
    assert not any(e.startswith("CORRAL_TEST_HOST_SECRET") for e in config["Env"])


async def test_sweep_removes_leftovers_but_not_live_runs(docker_executor):
    client = docker.from_env()
    labels = {SANDBOX_LABEL: SANDBOX_LABEL_VALUE,
              "io.corral.deployment": docker_executor.settings.deployment_id}
    # A leftover: a sandbox that ended (the runner answered an empty stdin and exited).
    leftover = client.containers.run(docker_executor.settings.runner_image, detach=True,
                                     labels=dict(labels, **{"io.corral.run_id": "leftover"}),
                                     network_mode="none")
    leftover.wait(timeout=60)
    # A live run of another server on the same daemon: created a moment ago, still running.
    live = client.containers.run(docker_executor.settings.runner_image, detach=True,
                                 stdin_open=True, labels=dict(labels, **{"io.corral.run_id": "live"}),
                                 network_mode="none")
    try:
        assert await docker_executor.sweep() >= 1
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(leftover.id)
        assert client.containers.get(live.id).status == "running"
    finally:
        for c in (leftover, live):
            try:
                c.remove(force=True)
            except docker.errors.NotFound:
                pass
        client.close()


async def test_missing_image_is_named_with_the_fix():
    executor = DockerExecutor(sandbox_settings("docker", runner_image="corral/no-such-image:x"))
    try:
        with pytest.raises(ExecutorUnavailable, match="make images"):
            await executor.check()
        result = await run(executor, "SELECT 1", "sql")
        assert result["status"] == "unavailable"
        assert "make images" in result["error"]["message"]
    finally:
        await executor.close()


async def test_daemon_not_running_is_named_with_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
    executor = DockerExecutor(sandbox_settings("docker"))
    with pytest.raises(ExecutorUnavailable, match="does not exist|not installed") as err:
        await executor.check()
    message = str(err.value)
    assert "dockerd >/var/log/dockerd.log" in message or "apt-get install -y docker.io" in message
    result = await executor.run({"version": 1, "run_id": new_run_id(), "language": "sql",
                                 "code": "SELECT 1", "max_rows": 1, "timeout_ms": 1000})
    assert result["status"] == "unavailable"


async def test_datasets_from_a_mounted_source_replace_the_baked_ones():
    # A host directory with a 10-row penguins: the runner must read it, not the image's.
    source = tempfile.mkdtemp(prefix="corral-datasets-")
    try:
        os.chmod(source, 0o755)
        duckdb.sql(f"COPY (SELECT * FROM read_parquet('{DATASETS}/penguins.parquet') LIMIT 10) "
                   f"TO '{source}/penguins.parquet' (FORMAT parquet)")
        manifest = json.loads((DATASETS / "manifest.json").read_text())
        manifest["datasets"] = {"penguins": manifest["datasets"]["penguins"]}
        Path(source, "manifest.json").write_text(json.dumps(manifest))
        for name in os.listdir(source):
            os.chmod(f"{source}/{name}", 0o644)
        executor = DockerExecutor(sandbox_settings("docker", runner_datasets_source=source))
        try:
            code = ("import os\nresult = {'n': len(penguins), 'files': len(os.listdir('/data'))}\n"
                    "try:\n    open('/data/x', 'w')\nexcept OSError as e:\n"
                    "    result['write'] = type(e).__name__")
            assert table(await run(executor, code)) == {"n": 10, "files": 2,
                                                        "write": "OSError"}
        finally:
            await executor.close()
    finally:
        shutil.rmtree(source)

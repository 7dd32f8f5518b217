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


async def test_a_run_limited_to_some_tables_gets_only_their_files():
    """A run limited to the datasets its user may see (request `tables`) gets an empty
    read-only /data with manifest.json and those tables' files bound over it, from the
    host folder RUNNER_DATASETS_SOURCE. The file list is read from this server's own
    DATASETS_PATH (compose mounts the same folder elsewhere in the agent's container):
    here that copy holds the manifest only, so a bind from it could not even be made."""
    source = Path(tempfile.mkdtemp(prefix="corral-datasets-"))
    agent_view = Path(tempfile.mkdtemp(prefix="corral-agent-datasets-"))
    try:
        manifest = json.loads((DATASETS / "manifest.json").read_text())
        manifest["datasets"] = {d: manifest["datasets"][d] for d in ("penguins", "gapminder")}
        for folder in (source, agent_view):
            (folder / "manifest.json").write_text(json.dumps(manifest))
        for name in ("penguins.parquet", "gapminder.parquet"):
            shutil.copy(DATASETS / name, source / name)
        for path in (source, *source.iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)
        executor = DockerExecutor(sandbox_settings(
            "docker", runner_datasets_source=str(source), datasets_path=agent_view))
        try:
            code = ("import os\nresult = {'n': len(penguins),\n"
                    "          'files': ','.join(sorted(os.listdir('/data')))}\n"
                    "for path, mode in (('/data/gapminder.parquet', 'rb'), ('/data/x', 'w')):\n"
                    "    try:\n        open(path, mode)\n"
                    "    except OSError as e:\n        result[path] = e.strerror\n")
            got = table(await run(executor, code, tables=["penguins"]))
            rows = duckdb.connect().execute(
                f"SELECT count(*) FROM '{DATASETS}/penguins.parquet'").fetchone()[0]
            assert got == {"n": rows,
                           "files": "manifest.json,penguins.parquet",
                           "/data/gapminder.parquet": "No such file or directory",
                           "/data/x": "Read-only file system"}
            # Without `tables` (a user who sees everything) the whole folder, as before.
            everything = table(await run(executor, "import os\nresult = {'files': "
                                         "','.join(sorted(os.listdir('/data')))}"))
            assert everything == {"files": "gapminder.parquet,manifest.json,penguins.parquet"}
        finally:
            await executor.close()
    finally:
        shutil.rmtree(source)
        shutil.rmtree(agent_view)


async def test_a_limited_run_without_a_host_folder_is_refused_not_given_every_file():
    """A named volume can only be mounted whole: the run fails closed, naming the fix."""
    executor = DockerExecutor(sandbox_settings("docker", runner_datasets_source="some-volume"))
    try:
        result = await run(executor, "result = penguins", tables=["penguins"])
    finally:
        await executor.close()
    assert result["status"] == "unavailable"
    assert "RUNNER_DATASETS_SOURCE=some-volume is a named volume" in result["error"]["message"]

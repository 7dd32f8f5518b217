"""The devcontainer is built from its own json and used the way a developer uses it.

The image is built with the Dockerfile, context and build args devcontainer.json
names (BASE_IMAGE swapped for the offline base), then one container is started with
the json's runArgs, mounts, workspace mount and remoteUser, and every check runs as
that user. Not done here: `make bootstrap` inside (containers here cannot reach
PyPI over TLS) and the VS Code / Codespaces side (port forwarding UI, extensions).
"""

from __future__ import annotations

import re
import uuid

import pytest
import yaml
from devenv_helpers import (
    DEVCONTAINER_DIR,
    OFFLINE_BASE,
    REPO,
    TEST_IMAGE,
    docker,
    load_jsonc,
    mount_flag,
    substitute,
)

pytestmark = pytest.mark.docker

CONFIG = load_jsonc(DEVCONTAINER_DIR / "devcontainer.json")


@pytest.fixture(scope="module")
def image() -> str:
    build = CONFIG["build"]
    args = dict(build.get("args", {}), BASE_IMAGE=OFFLINE_BASE)
    argv = ["build", "-q", "-t", TEST_IMAGE, "-f", str(DEVCONTAINER_DIR / build["dockerfile"])]
    for key, value in args.items():
        argv += ["--build-arg", f"{key}={value}"]
    docker(*argv, str(DEVCONTAINER_DIR / build.get("context", ".")), timeout=1800)
    return TEST_IMAGE


@pytest.fixture(scope="module")
def devcontainer(image: str):
    """The container as `devcontainer up` starts it (overrideCommand false: the image's
    entrypoint runs), with the repository mounted where the json says."""
    name = f"corral-devcontainer-test-{uuid.uuid4().hex[:8]}"
    # Read-only here so the test cannot leave files owned by another uid in the checkout;
    # the real workspace mount is read-write.
    workspace = substitute(CONFIG["workspaceMount"], REPO) + ",readonly"
    argv = ["run", "-d", "--name", name, "--label", "io.corral.test=devcontainer",
            "--user", CONFIG.get("containerUser", "root"), *CONFIG["runArgs"],
            "--mount", workspace]
    for spec in CONFIG.get("mounts", []):
        argv += mount_flag(spec, REPO)
    docker(*argv, image)
    try:
        _wait_for_entrypoint(name)
        yield name
    finally:
        docker("rm", "-f", "-v", name, check=False)


def _wait_for_entrypoint(name: str) -> None:
    """The entrypoint fixes the socket's group, then execs the command: wait for the exec."""
    for _ in range(300):
        pid1 = docker("exec", name, "cat", "/proc/1/cmdline", check=False).stdout
        if pid1.startswith("sleep"):
            return
        if docker("inspect", "-f", "{{.State.Running}}", name).stdout.strip() != "true":
            logs = docker("logs", name, check=False)
            raise AssertionError(f"devcontainer exited: {logs.stdout}{logs.stderr}")
        docker("exec", name, "sleep", "0.1", check=False)
    raise AssertionError("devcontainer entrypoint never exec'd its command")


def as_developer(container: str, *cmd: str) -> str:
    """Run as remoteUser in the workspace folder, as the editor's terminal does."""
    workdir = substitute(CONFIG["workspaceFolder"], REPO)
    proc = docker("exec", "-u", CONFIG["remoteUser"], "-w", workdir, container, *cmd, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed in the devcontainer: {proc.stderr}"
    return proc.stdout.strip()


def test_the_developer_is_not_root(devcontainer):
    assert as_developer(devcontainer, "id", "-u") != "0"


def test_python_is_3_11_with_venv(devcontainer):
    assert as_developer(devcontainer, "python3", "--version").startswith("Python 3.11.")
    # make bootstrap needs ensurepip (python3-venv): prove a venv can be made.
    as_developer(devcontainer, "python3", "-m", "venv", "--without-pip", "/tmp/probe-venv")


def test_build_tools_are_there(devcontainer):
    assert as_developer(devcontainer, "make", "--version").startswith("GNU Make 4")
    assert as_developer(devcontainer, "git", "--version").startswith("git version 2")
    assert as_developer(devcontainer, "curl", "--version").startswith("curl ")


def test_the_workspace_is_the_repository_at_the_host_path(devcontainer):
    # Same path inside and out: bind mounts the host engine makes from workspace
    # paths (datasets for the Docker executor) resolve on the host.
    assert as_developer(devcontainer, "pwd") == str(REPO)
    targets = as_developer(devcontainer, "make", "-s", "help")
    assert re.search(r"^\s+bootstrap\s", targets, re.MULTILINE), targets


def test_the_host_docker_engine_answers_the_developer(devcontainer):
    host = docker("version", "--format", "{{.Server.Version}}").stdout.strip()
    inside = as_developer(devcontainer, "docker", "version", "--format", "{{.Server.Version}}")
    assert inside == host
    # The same engine, not one of its own: the test's own container is visible.
    names = as_developer(devcontainer, "docker", "ps", "--format", "{{.Names}}")
    assert devcontainer in names.splitlines()


def test_the_devcontainer_runs_no_docker_daemon(devcontainer):
    procs = as_developer(devcontainer, "ps", "-eo", "comm=")
    assert "dockerd" not in procs.split()


def test_bubblewrap_makes_a_sandbox_as_the_developer(devcontainer):
    """The namespaces the bwrap executor asks for, unprivileged, inside the devcontainer.

    bwrap runs under a shell, as in the editor's terminal: --die-with-parent fires when the
    parent *thread* ends, and straight under `docker exec` the parent is the runtime's exec
    process, whose thread may end first (bwrap then dies with 137 after its output)."""
    out = as_developer(
        devcontainer, "sh", "-c", 'bwrap "$@"; exit $?', "sh", "--unshare-user", "--uid", "10001", "--unshare-pid",
        "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--die-with-parent", "--new-session", "--clearenv",
        "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
        "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--",
        "/usr/bin/python3", "-c",
        "import os, socket; print(os.getuid(), os.getpid(), socket.if_nameindex())",
    )
    uid, pid, interfaces = out.split(" ", 2)
    assert uid == "10001", out
    assert int(pid) <= 2, out  # its own pid namespace (bwrap's init is pid 1)
    assert interfaces == "[(1, 'lo')]", out  # no network but loopback


def test_chromium_renders_a_page_headless(devcontainer):
    version = as_developer(devcontainer, "chromium", "--version")
    assert version.startswith("Chromium "), version
    dom = as_developer(
        devcontainer, "chromium", "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--dump-dom", "data:text/html,<p id=x>corral</p>",
    )
    assert '<p id="x">corral</p>' in dom


def test_forwarded_port_is_the_ui_port_of_compose():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    published = compose["services"]["ui"]["ports"][0]
    default_port = re.search(r"\$\{UI_PORT:-(\d+)\}", published).group(1)
    assert CONFIG["forwardPorts"] == [int(default_port)]


def test_post_create_bootstraps_the_project():
    assert CONFIG["postCreateCommand"] == "make bootstrap"


def test_the_image_starts_from_base_image_arg():
    lines = [ln for ln in (DEVCONTAINER_DIR / "Dockerfile").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert lines[:2] == ["ARG BASE_IMAGE=debian:bookworm-slim", "FROM ${BASE_IMAGE}"]

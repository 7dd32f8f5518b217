"""Two Corral deployments on one host with the bwrap executor: each puts its sandboxes'
cgroups under a parent of its own (corral-sandboxes/<DEPLOYMENT_ID>/), and each start-up
sweep kills and removes only its own leftovers, never the other's running or leftover
sandboxes. Real bwrap, real cgroups (the hierarchy of this host)."""

from __future__ import annotations

import asyncio
import subprocess
import uuid

import pytest
from jinja2 import Template
from sandbox_helpers import REPO, new_run_id, run, sandbox_settings, table

from app.executors import cgroups
from app.executors.bwrap import BubblewrapExecutor

pytestmark = pytest.mark.bwrap

# Stays up for a while, so the host can see where its cgroup is.
STAY = "import time\ntime.sleep(4)\nresult = {'done': 1}\n"


def _executor(deployment: str) -> BubblewrapExecutor:
    return BubblewrapExecutor(sandbox_settings("bwrap", deployment_id=deployment))


@pytest.fixture
def two():
    mine = _executor(f"mine-{uuid.uuid4().hex[:8]}")
    theirs = _executor(f"theirs-{uuid.uuid4().hex[:8]}")
    left: list[tuple[subprocess.Popen, object]] = []
    yield mine, theirs, left
    for process, confined in left:
        process.kill()
        process.wait()
        confined.close()
    for executor in (mine, theirs):
        for directory in set(cgroups.deployment_dirs(executor.settings.deployment_id).values()):
            if directory.exists():
                directory.rmdir()


def _leftover(executor: BubblewrapExecutor, left: list) -> tuple[int, str]:
    """A real bwrap sandbox in its run cgroup that nobody will close (as a killed server
    leaves it): returns the sandbox's pid and its run name."""
    name = f"crashed-{uuid.uuid4().hex[:8]}"
    confined = executor._confinement(name).open()
    argv = executor._argv(confined)
    argv = argv[: argv.index("--")] + ["--", "/bin/sleep", "600"]
    process = subprocess.Popen(argv, pass_fds=[confined.seccomp_fd],
                               preexec_fn=confined.preexec(lambda: None))  # noqa: PLW1509 - as the executor does
    left.append((process, confined))
    return process.pid, name


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _run_dirs(executor: BubblewrapExecutor) -> set[str]:
    parent = cgroups.deployment_dirs(executor.settings.deployment_id)["memory"]
    return {d.name for d in parent.iterdir() if d.is_dir()} if parent.exists() else set()


async def test_each_deployments_sandbox_runs_under_its_own_parent(two):
    mine, theirs, _ = two
    run_id = new_run_id()
    running = asyncio.create_task(run(theirs, STAY, run_id=run_id))
    seen_theirs, seen_mine = False, False
    while not running.done():
        seen_theirs |= run_id in _run_dirs(theirs)
        seen_mine |= run_id in _run_dirs(mine)
        await asyncio.sleep(0.1)
    assert table(running.result()) == {"done": 1}
    assert seen_theirs, "the run's cgroup was never under its deployment's parent"
    assert not seen_mine
    assert _run_dirs(theirs) == set()  # and it is removed after the run


async def test_a_sweep_removes_its_own_leftovers_and_not_another_deployments(two):
    mine, theirs, left = two
    my_pid, my_run = _leftover(mine, left)
    their_pid, their_run = _leftover(theirs, left)
    assert _run_dirs(mine) == {my_run} and _run_dirs(theirs) == {their_run}
    # Their sandbox that is running now, while our server starts and sweeps.
    running = asyncio.create_task(run(theirs, STAY))
    await asyncio.sleep(1.5)
    assert await mine.sweep() == 1
    assert not _alive(my_pid), "our leftover sandbox survived our sweep"
    assert _run_dirs(mine) == set()
    assert _alive(their_pid), "our sweep killed another deployment's sandbox"
    assert their_run in _run_dirs(theirs)
    assert table(await running) == {"done": 1}  # their live run finished normally
    # And their own sweep takes their leftover, leaving ours (none now) alone.
    assert await theirs.sweep() == 1
    assert not _alive(their_pid)
    assert _run_dirs(theirs) == set()


def test_the_run_cgroups_of_each_deployment_are_under_its_own_parent():
    mine = cgroups.SandboxCgroup("r1", 64 << 20, 16, deployment="alpha")
    theirs = cgroups.SandboxCgroup("r1", 64 << 20, 16, deployment="beta")
    for controller in ("memory", "pids"):
        assert mine.dirs[controller].parent.name == "alpha"
        assert theirs.dirs[controller].parent.name == "beta"
        assert mine.dirs[controller].parent.parent.name == cgroups.PARENT
        assert mine.dirs[controller] != theirs.dirs[controller]


def test_the_roles_cgroup_script_prepares_only_its_deployments_parent():
    # The template rendered as the role does (a project, the agent's user), then run.
    project = f"role-{uuid.uuid4().hex[:8]}"
    text = (REPO / "roles/corral_app/templates/corral-cgroups.sh.j2").read_text()
    script = Template(text).render(ansible_managed="test", corral_app_project=project,
                                   corral_app_user="root")
    before = {d.name for d in (cgroups.ROOT / "memory" / cgroups.PARENT).iterdir()
              if d.is_dir()} if (cgroups.ROOT / "memory" / cgroups.PARENT).exists() else set()
    subprocess.run(["sh", "-c", script], check=True)
    made = set(cgroups.deployment_dirs(project).values())
    try:
        if cgroups.version(cgroups.ROOT) == 1:
            assert all(d.is_dir() for d in made), made
            after = {d.name for d in (cgroups.ROOT / "memory" / cgroups.PARENT).iterdir()
                     if d.is_dir()}
            assert after - before == {project}
        # And the agent of that deployment runs its sandboxes there.
        executor = _executor(project)
        assert table(asyncio.run(run(executor, "result = {'n': 1}"))) == {"n": 1}
    finally:
        for directory in made:
            if directory.exists():
                directory.rmdir()

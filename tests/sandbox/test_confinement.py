"""What bubblewrap alone did not give and Docker does, in each real sandbox: no nested
user namespace, no mounts (so no exec-able /tmp), and a memory limit for the sandbox
as a whole, not per process. Each test records what the attack achieved."""

from __future__ import annotations

import pytest
from sandbox_helpers import assert_still_works, run, sandbox_settings, table

from app.executors.bwrap import BubblewrapExecutor

NESTED_USERNS = """
import ctypes, os, subprocess
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000
rc = libc.unshare(CLONE_NEWUSER)
direct = 'REFUSED' if rc != 0 else 'CREATED'
tool = subprocess.run(['unshare', '-U', '-r', 'id', '-u'], capture_output=True, text=True)
forked = subprocess.run(['python3', '-c', 'import os; os.unshare(0x10000000)'] if False else
                        ['unshare', '--user', '--map-root-user', '--mount', 'true'],
                        capture_output=True)
result = {'direct': direct, 'tool': 'REFUSED' if tool.returncode else 'CREATED:' + tool.stdout,
          'mount_ns': 'REFUSED' if forked.returncode else 'CREATED'}
"""


async def test_no_nested_user_namespace(sandbox):
    assert table(await run(sandbox, NESTED_USERNS)) == {
        "direct": "REFUSED", "tool": "REFUSED", "mount_ns": "REFUSED"}
    await assert_still_works(sandbox)


REMOUNT_TMP = """
import ctypes, os, shutil, subprocess
libc = ctypes.CDLL(None, use_errno=True)
MS_REMOUNT, MS_BIND = 32, 4096
remount = libc.mount(b'none', b'/tmp', None, MS_REMOUNT | MS_BIND, None)
over = libc.mount(b'tmpfs', b'/tmp', b'tmpfs', 0, b'size=1m')
tool = subprocess.run(['mount', '-o', 'remount,exec', '/tmp'], capture_output=True)
shutil.copy('/bin/true', '/tmp/mytrue')
os.chmod('/tmp/mytrue', 0o755)
try:
    subprocess.run(['/tmp/mytrue'], check=True)
    ran = 'RAN'
except PermissionError:
    ran = 'EACCES'
result = {'remount': 'REFUSED' if remount else 'DONE', 'mount_over': 'REFUSED' if over else 'DONE',
          'tool': 'REFUSED' if tool.returncode else 'DONE', 'exec_from_tmp': ran}
"""


async def test_tmp_cannot_be_remounted_or_mounted_over_and_stays_noexec(sandbox):
    assert table(await run(sandbox, REMOUNT_TMP)) == {
        "remount": "REFUSED", "mount_over": "REFUSED", "tool": "REFUSED",
        "exec_from_tmp": "EACCES"}


PTRACE_AND_KEYRING = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_TRACEME = 0
traced = libc.ptrace(PTRACE_TRACEME, 0, None, None)
keyring = libc.syscall(250, b'user', b'corral', b'x', 1, -3)  # add_key on x86-64
bpf = libc.syscall(321, 0, None, 0)  # bpf on x86-64
result = {'ptrace': 'REFUSED' if traced else 'DONE', 'add_key': 'REFUSED' if keyring < 0 else 'DONE',
          'bpf': 'REFUSED' if bpf < 0 else 'DONE'}
"""


async def test_ptrace_keyring_and_bpf_are_refused(sandbox):
    got = table(await run(sandbox, PTRACE_AND_KEYRING))
    assert (got["add_key"], got["bpf"]) == ("REFUSED", "REFUSED")
    if sandbox.name == "bwrap":  # Docker's default profile allows ptrace inside a container
        assert got["ptrace"] == "REFUSED"


# Six children each touch 200 MB and hold it: 1.2 GB in a sandbox limited to 512 MB.
# A child reports (its index) once its block is resident, then holds it until the
# parent releases them all. Counted as held are the children that reported *and* were
# still alive at the release: the OOM killer may kill a child after it reported (its
# memory then lets another finish), so reports alone over-count what was held at once.
SIX_CHILDREN = """
import os, select, time
r, w = os.pipe()
release_r, release_w = os.pipe()
pids = []
for index in range(6):
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.close(release_w)
        try:
            block = bytearray(200 * 1024 * 1024)
            for i in range(0, len(block), 4096):
                block[i] = 1
            os.write(w, bytes([index]))
            os.read(release_r, 1)
        finally:
            os._exit(0)
    pids.append(pid)
os.close(w)
os.close(release_r)
reported, deadline = set(), time.monotonic() + 8
while len(reported) < 6 and time.monotonic() < deadline:
    if select.select([r], [], [], 0.2)[0]:
        chunk = os.read(r, 16)
        if not chunk:
            break
        reported.update(chunk)
os.close(release_w)
held = 0
for index, pid in enumerate(pids):
    _, status = os.waitpid(pid, 0)
    survived = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    held += index in reported and survived
result = {'held_mb': held * 200, 'reported': len(reported)}
"""


async def test_six_children_together_stay_within_the_memory_limit(sandbox):
    result = await run(sandbox, SIX_CHILDREN, timeout_ms=20000)
    if result["status"] == "ok":  # the kernel killed children, not the runner
        assert table(result)["held_mb"] <= 512
    else:
        assert result["status"] == "oom", result["error"]
    await assert_still_works(sandbox)


@pytest.mark.bwrap
async def test_the_unprivileged_bwrap_path_refuses_nested_namespaces_too():
    # The argv an unprivileged agent uses (its own user namespace, --disable-userns where
    # bwrap can apply it, the seccomp filter, the cgroup), exercised from here.
    executor = BubblewrapExecutor(sandbox_settings("bwrap"))
    executor.as_root = False
    assert table(await run(executor, NESTED_USERNS)) == {
        "direct": "REFUSED", "tool": "REFUSED", "mount_ns": "REFUSED"}
    assert table(await run(executor, "result = {'uid': __import__('os').getuid()}")) == {
        "uid": 10001}

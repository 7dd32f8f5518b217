"""Hostile code, in each real sandbox: contained, reported with the right status, nothing left
behind (checked by every `run`), and the next run in a fresh sandbox still answers.

Most attacks are Python mode: the runner executes user Python, so that is what an attacker
gets. Each test records what the attack achieved in the result table and asserts on it.
"""

from __future__ import annotations

import socket
import uuid

import pytest
from sandbox_helpers import (
    SECRET_NAME,
    SECRET_VALUE,
    assert_still_works,
    host_processes_matching,
    run,
    table,
)

# Finds the runner's real result pipe (it keeps a dup of stdout and points fd 1 at
# /dev/null), so an attack can write to the executor directly.
RESULT_FDS = """
import os, stat
def result_fds():
    fds = []
    for name in os.listdir('/proc/self/fd'):
        fd = int(name)
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue
        if fd > 2 and (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
            try:
                os.write(fd, b'')
                fds.append(fd)
            except OSError:
                pass
    return fds
"""


async def test_no_network_egress_and_no_dns(sandbox):
    # A server on the host's loopback: a shared network namespace would reach it.
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        code = f"""
import socket
def attempt(fn):
    try:
        fn()
        return 'REACHED'
    except Exception as exc:
        return type(exc).__name__
def connect(host, port):
    socket.create_connection((host, port), timeout=2).close()
interfaces = [line.split(':')[0].strip() for line in open('/proc/net/dev').readlines()[2:]]
result = {{
    'host_loopback': attempt(lambda: connect('127.0.0.1', {port})),
    'public_ip': attempt(lambda: connect('1.1.1.1', 53)),
    'docker_gateway': attempt(lambda: connect('172.17.0.1', 2375)),
    'dns': attempt(lambda: socket.getaddrinfo('example.com', 443)),
    'interfaces': ','.join(sorted(interfaces)),
}}
"""
        got = table(await run(sandbox, code))
    assert got["host_loopback"] != "REACHED"
    assert got["public_ip"] != "REACHED"
    assert got["docker_gateway"] != "REACHED"
    assert got["dns"] != "REACHED"
    assert got["interfaces"] == "lo"  # no interface that could route anywhere
    await assert_still_works(sandbox)


async def test_fork_bomb_hits_the_process_limit(sandbox):
    code = """
import os, time
children = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        children += 1
except OSError as exc:
    result = {'children': children, 'stopped_by': type(exc).__name__}
"""
    got = table(await run(sandbox, code))
    assert got["stopped_by"] == "BlockingIOError"  # EAGAIN from the pids/process limit
    # pids_limit is 64; bwrap's RLIMIT_NPROC also counts the host uid's other tasks, so
    # allow some slack. Unlimited, this loop makes thousands of children in a second.
    assert got["children"] < 100
    await assert_still_works(sandbox)


async def test_exponential_fork_bomb_is_stopped_at_the_deadline(sandbox):
    marker = f"{uuid.uuid4().int % 10**6}.5"
    code = f"""
import os
while True:
    try:
        if os.fork() == 0:
            os.execv('/bin/sleep', ['sleep', '{marker}'])
    except OSError:
        pass
"""
    result = await run(sandbox, code, timeout_ms=1500)
    assert result["status"] == "timeout", result
    assert host_processes_matching(f"sleep {marker}") == []
    await assert_still_works(sandbox)


async def test_memory_bomb_is_oom(sandbox):
    # Touched memory (bytes * n writes every page), so neither overcommit nor lazy
    # zero pages hide it: the cgroup OOM killer (docker) or RLIMIT_DATA (bwrap) stops it.
    code = "chunks = []\nwhile True:\n    chunks.append(b'x' * (16 * 1024 * 1024))\n"
    result = await run(sandbox, code, timeout_ms=20000)
    assert result["status"] == "oom", result
    assert result["error"]["type"] == "oom"
    assert "memory" in result["error"]["message"].lower()
    await assert_still_works(sandbox)


async def test_cpu_spin_holding_the_gil_is_a_timeout(sandbox):
    # sum() over a huge range runs in C holding the GIL: the runner's own alarm and
    # watchdog thread never get to run; the CPU rlimit or the executor's kill must.
    result = await run(sandbox, "result = sum(range(10**14))", timeout_ms=1000)
    assert result["status"] == "timeout", result
    assert "1000 ms" in result["error"]["message"]
    await assert_still_works(sandbox)


async def test_child_ignoring_sigterm_does_not_survive(sandbox):
    marker = f"{uuid.uuid4().int % 10**6}.25"
    code = f"""
import os, signal, time
if os.fork() == 0:
    os.setsid()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # inherited across exec
    os.execv('/bin/sleep', ['sleep', '{marker}'])
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGALRM, signal.SIG_IGN)
time.sleep(600)
"""
    result = await run(sandbox, code, timeout_ms=1000)
    assert result["status"] == "timeout", result
    assert host_processes_matching(f"sleep {marker}") == []
    await assert_still_works(sandbox)


async def test_filling_tmp_stops_at_its_size(sandbox):
    code = """
import errno
written = 0
try:
    with open('/tmp/fill', 'wb') as f:
        for _ in range(256):
            f.write(b'x' * 1024 * 1024)
            f.flush()
            written += 1
except OSError as exc:
    result = {'mb': written, 'error': errno.errorcode[exc.errno]}
"""
    got = table(await run(sandbox, code))
    assert got["error"] in ("ENOSPC", "EFBIG")
    assert got["mb"] <= 64
    await assert_still_works(sandbox, fresh_tmp=True)  # the next sandbox gets an empty /tmp


async def test_root_data_and_system_dirs_are_read_only(sandbox):
    code = """
import errno, os
def attempt(path):
    try:
        with open(path, 'ab') as f:
            f.write(b'x')
        return 'WROTE'
    except OSError as exc:
        return errno.errorcode[exc.errno]
result = {
    'root': attempt('/evil'),
    'data_new': attempt('/data/evil.parquet'),
    'data_existing': attempt('/data/penguins.parquet'),
    'usr': attempt('/usr/evil'),
    'runner': attempt(os.path.join(os.path.dirname(__import__('runner').__file__), 'x.py')),
}
"""
    got = table(await run(sandbox, code))
    assert all(v in ("EROFS", "EACCES", "EPERM") for v in got.values()), got
    await assert_still_works(sandbox)


async def test_binary_copied_to_tmp_cannot_run(sandbox):
    code = """
import os, shutil, subprocess
shutil.copy('/bin/true', '/tmp/mytrue')
os.chmod('/tmp/mytrue', 0o755)
try:
    subprocess.run(['/tmp/mytrue'], check=True)
    outcome = 'RAN'
except PermissionError:
    outcome = 'EACCES'
result = {'outcome': outcome}
"""
    assert table(await run(sandbox, code)) == {"outcome": "EACCES"}
    await assert_still_works(sandbox)


async def test_host_environment_and_secrets_are_invisible(sandbox, tmp_path):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET_VALUE)
    code = f"""
import os, glob
seen = [repr(dict(os.environ))]
for path in glob.glob('/proc/*/environ'):
    try:
        seen.append(open(path, 'rb').read().decode(errors='replace'))
    except OSError:
        pass
def read(path):
    try:
        return open(path).read()
    except OSError as exc:
        return type(exc).__name__
result = {{
    'environ': '\\n'.join(seen),
    'pid1_environ': read('/proc/1/environ'),
    'secret_file': read({str(secret_file)!r}),
    'shadow': read('/etc/shadow'),
}}
"""
    got = table(await run(sandbox, code))
    assert SECRET_VALUE not in got["environ"] and SECRET_NAME not in got["environ"]
    assert SECRET_VALUE not in got["pid1_environ"]
    assert got["secret_file"] in ("FileNotFoundError", "PermissionError")
    assert got["shadow"] in ("FileNotFoundError", "PermissionError")
    await assert_still_works(sandbox)


async def test_no_docker_socket_inside(sandbox):
    code = """
import os
paths = ['/var/run/docker.sock', '/run/docker.sock', '/run/containerd/containerd.sock']
result = {'sockets': ','.join(p for p in paths if os.path.exists(p)) or 'none'}
"""
    assert table(await run(sandbox, code)) == {"sockets": "none"}


async def test_not_root_no_capabilities_no_new_privileges(sandbox):
    code = """
import os
status = dict(line.split(':\\t', 1) for line in open('/proc/self/status').read().splitlines()
              if ':\\t' in line)
try:
    os.setuid(0)
    setuid = 'BECAME ROOT'
except PermissionError:
    setuid = 'EPERM'
result = {'uid': os.getuid(), 'euid': os.geteuid(), 'gid': os.getgid(),
          'cap_eff': status['CapEff'].strip(), 'cap_prm': status['CapPrm'].strip(),
          'no_new_privs': status['NoNewPrivs'].strip(), 'setuid': setuid}
"""
    got = table(await run(sandbox, code))
    assert got["uid"] != 0 and got["euid"] != 0 and got["gid"] != 0
    assert int(got["cap_eff"], 16) == 0 and int(got["cap_prm"], 16) == 0
    assert got["no_new_privs"] == "1"
    assert got["setuid"] == "EPERM"


async def test_a_gigabyte_of_stdout_is_output_limit(sandbox):
    code = RESULT_FDS + """
chunk = b'x' * (1024 * 1024)
targets = result_fds()
for _ in range(1024):
    for fd in targets:
        os.write(fd, chunk)
result = {'targets': len(targets)}
"""
    result = await run(sandbox, code, timeout_ms=60000)
    assert result["status"] == "output_limit", result
    assert "bytes of output" in result["error"]["message"]
    await assert_still_works(sandbox)


async def test_invalid_utf8_on_stdout_is_a_crash(sandbox):
    code = RESULT_FDS + """
for fd in result_fds():
    os.write(fd, b'{"status": "ok", "rows": "\\xff\\xfe\\xfd"}\\n')
os._exit(0)
"""
    result = await run(sandbox, code)
    assert result["status"] == "crashed", result
    assert "UTF-8" in result["error"]["message"]


@pytest.mark.parametrize(
    "payload, why",
    [
        ("'[' + '1,' * 1500000 + '1]'", "breaks the runner contract"),  # 3 MB of valid JSON
        ("'[' * 200000 + ']' * 200000", "not one JSON object"),  # nesting past any parser
    ],
    ids=["huge", "deep"],
)
async def test_huge_or_deep_json_on_stdout_is_a_crash(sandbox, payload, why):
    code = RESULT_FDS + f"""
data = ({payload}).encode()
for fd in result_fds():
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
os._exit(0)
"""
    result = await run(sandbox, code)
    assert result["status"] == "crashed", result
    assert why in result["error"]["message"]


async def test_a_result_too_big_for_the_cap_is_output_limit(sandbox):
    code = "SELECT repeat('x', 100000) AS big FROM range(200)"  # 20 MB of cells
    result = await run(sandbox, code, "sql")
    assert result["status"] == "output_limit", result


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/proc/self/environ')",
        "COPY (SELECT * FROM penguins) TO '/tmp/out.csv'",
        "ATTACH '/tmp/evil.duckdb' AS evil",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SELECT * FROM read_parquet('https://example.com/x.parquet')",
        "SET enable_external_access = true",
    ],
)
async def test_duckdb_file_and_extension_functions_are_refused(sandbox, sql):
    result = await run(sandbox, sql, "sql")
    assert result["status"] == "error", result
    assert result["error"]["type"] in ("not_allowed", "sql_error")
    assert "root:" not in result["error"]["message"]

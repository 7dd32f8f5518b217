"""A throw-away PostgreSQL server for the storage tests, when the Debian package
`postgresql` is installed: initdb in a temp dir, listening on 127.0.0.1 on a free
port, stopped and deleted at the end of the session. Skips with the reason otherwise."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(argv: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; the package creates a `postgres` user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.skip("PostgreSQL not installed (apt-get install postgresql); SQLite tests ran")
    bindir = os.path.dirname(bins[-1])
    if os.geteuid() == 0 and not shutil.which("runuser"):
        pytest.skip("running as root without runuser: cannot start PostgreSQL as postgres")
    tmp = tempfile.mkdtemp(prefix="corral-pg-")
    os.chmod(tmp, 0o755)
    data = os.path.join(tmp, "data")
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
    port = _free_port()
    try:
        subprocess.run(_as_postgres([f"{bindir}/initdb", "-D", data, "-U", "corral",
                                     "--auth=trust", "-E", "UTF8"]),
                       check=True, capture_output=True, timeout=120)
        subprocess.run(_as_postgres([
            f"{bindir}/pg_ctl", "-D", data, "-w", "-t", "60", "-l", os.path.join(tmp, "log"),
            "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} -c fsync=off",
            "start"]), check=True, capture_output=True, timeout=90)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        err = getattr(exc, "stderr", b"") or b""
        pytest.skip(f"could not start PostgreSQL: {exc} {err.decode(errors='replace')[-300:]}")
    try:
        subprocess.run(_as_postgres([f"{bindir}/createdb", "-h", "127.0.0.1", "-p", str(port),
                                     "-U", "corral", "corral"]), check=True,
                       capture_output=True, timeout=60)
        yield f"postgresql://corral@127.0.0.1:{port}/corral"
    finally:
        subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate",
                                     "stop"]), check=False, capture_output=True, timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)

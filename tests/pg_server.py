"""A throw-away PostgreSQL server (the Debian package `postgresql`): initdb in a temp
dir, listening on 127.0.0.1 on a free port; it can be stopped and started again (to
test what clients see while the database is down) and is deleted at the end."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from ports import free_port


class PostgresUnavailable(Exception):
    """PostgreSQL is not installed or cannot start here; the message says why."""


def _as_postgres(argv: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; the package creates a `postgres` user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


class PostgresServer:
    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise PostgresUnavailable("PostgreSQL not installed (apt-get install postgresql)")
        if os.geteuid() == 0 and not shutil.which("runuser"):
            raise PostgresUnavailable("running as root without runuser: cannot start "
                                      "PostgreSQL as postgres")
        self.bindir = os.path.dirname(bins[-1])
        self.tmp = tempfile.mkdtemp(prefix="corral-pg-")
        self.data = os.path.join(self.tmp, "data")
        self.port = free_port()
        self.url = f"postgresql://corral@127.0.0.1:{self.port}/corral"

    def _run(self, *argv: str, timeout: int = 90) -> None:
        subprocess.run(_as_postgres([f"{self.bindir}/{argv[0]}", *argv[1:]]), check=True,
                       capture_output=True, timeout=timeout)

    def create(self) -> None:
        os.chmod(self.tmp, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.tmp, "postgres")
        try:
            self._run("initdb", "-D", self.data, "-U", "corral", "--auth=trust", "-E", "UTF8",
                      timeout=120)
            self.start()
            self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "corral",
                      "corral", timeout=60)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            err = (getattr(exc, "stderr", b"") or b"").decode(errors="replace")[-300:]
            self.remove()
            raise PostgresUnavailable(f"could not start PostgreSQL: {exc} {err}") from None

    def start(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-w", "-t", "60", "-l",
                  os.path.join(self.tmp, "log"), "-o",
                  f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.tmp} -c fsync=off",
                  "start")

    def stop(self) -> None:
        subprocess.run(_as_postgres([f"{self.bindir}/pg_ctl", "-D", self.data, "-m",
                                     "immediate", "stop"]), check=False,
                       capture_output=True, timeout=60)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A running server; raises PostgresUnavailable when there can be none."""
    server = PostgresServer()
    server.create()
    try:
        yield server
    finally:
        server.remove()

"""Start a real agent server on 127.0.0.1 for a benchmark, and stats helpers.

Each benchmark starts its own server process (uvicorn, the same app the images
run) with the settings it measures, and stops it afterwards. The server has one
admin user with an API token; `auth(url)` gives the headers that sign a client in.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
# url -> the Authorization header of that server's benchmark user
_AUTH: dict[str, dict[str, str]] = {}
SIMPLE_SQL = "SELECT species, count(*) AS n FROM penguins GROUP BY species ORDER BY species"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def agent_server(log: Path | None = None, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """Yield (base URL, process) of a fresh agent server with `env` on top of defaults.

    `log`: write the server's stderr to this file rather than a pipe, for runs long
    enough to fill a pipe nobody reads until the end."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as files:
        stderr = files.enter_context(log.open("wb")) if log else subprocess.PIPE
        full_env = {
            **os.environ,
            "DATASETS_PATH": str(ROOT / "datasets"),
            "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "LOG_LEVEL": "WARNING",
            # Every benchmark client is the one user `bench`: the per-user limits
            # (app/user_limits.py) would measure themselves, not the server.
            "USER_RUNS_PER_MINUTE": "10000",
            "USER_MAX_SANDBOXES": "256",
            **env,
        }
        # The database (migrated, with the bench user) before the server starts: both
        # migrating one new SQLite file at once fails with "table already exists".
        token = _bench_token(full_env["DATABASE_URL"])
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-proxy-headers"],
            cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL, stderr=stderr,
        )
        url = f"http://127.0.0.1:{port}"
        _AUTH[url] = {"Authorization": f"Bearer {token}"}
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    tail = log.read_bytes() if log else proc.stderr.read()
                    raise SystemExit(f"agent server exited: {tail.decode()[-2000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise SystemExit("agent server did not become ready within 60 s")
                time.sleep(0.2)
            yield url, proc
        finally:
            _AUTH.pop(url, None)
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def auth(url: str) -> dict[str, str]:
    """Headers that sign a client in to the benchmark server at `url`."""
    return _AUTH[url]


def _bench_token(database_url: str) -> str:
    """An admin `bench` and a one-day token, in the server's database before it starts."""
    from app.auth import tokens, users
    from app.storage import make_engine, migrate

    engine = make_engine(database_url)
    try:
        migrate(engine)
        user = users.find(engine, "bench") or users.create(engine, "bench", role="admin")
        return tokens.create(engine, user, "bench", "admin", 1, max_days=1)[0]
    finally:
        engine.dispose()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")

def leaked_sandboxes(deployment: str | None = None) -> int:
    """Sandbox containers on the engine; only `deployment`'s when given."""
    only = ["--filter", f"label=io.corral.deployment={deployment}"] if deployment else []
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", "label=io.corral.sandbox", *only],
        capture_output=True, text=True, check=False,
    ).stdout
    return len(out.split())

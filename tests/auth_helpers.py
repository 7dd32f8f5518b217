"""Identity for the test servers: a real user and a real API token in the server's own
database, so every suite talks to the server signed in, never with AUTH_MODE=none.

    token = issue_token(settings.database_url)            # admin user "tester", admin scope
    client = httpx.Client(base_url=url, headers=auth_headers(token))
"""

from __future__ import annotations

import secrets

from app.auth import tokens, users
from app.storage import make_engine, migrate, sqlalchemy_url


def issue_token(database_url: str, username: str = "tester", role: str = "admin",
                scope: str = "admin", days: int = 2) -> str:
    """A fresh token for `username` (created with `role` if absent; the database is
    migrated first, so this works before the server has started)."""
    engine = make_engine(sqlalchemy_url(database_url))
    try:
        migrate(engine)
        user = users.find(engine, username) or users.create(engine, username, role=role)
        secret, _ = tokens.create(engine, user, f"tests ({scope})", scope, days, max_days=days)
        return secret
    finally:
        engine.dispose()


def auth_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def container_token(container: str, username: str = "tester") -> str:
    """A token for an admin of the agent server running in `container` (its own image's
    CLI against its own database), for tests that run the image itself."""
    import subprocess

    cli = ["docker", "exec", "-i", container, "python3", "-m", "app.cli"]
    listed = subprocess.run([*cli, "users", "list"], capture_output=True, text=True,
                            check=True, timeout=120).stdout.split()
    if username not in listed:
        subprocess.run([*cli, "users", "add", username, "--role", "admin", "--password-stdin"],
                       input=secrets.token_urlsafe(24) + "\n", capture_output=True, text=True,
                       check=True, timeout=120)
    made = subprocess.run([*cli, "tokens", "create", "--user", username, "--scope", "admin",
                           "--expires-days", "1", "--name", "tests"],
                          capture_output=True, text=True, check=True, timeout=120)
    return made.stdout.strip()

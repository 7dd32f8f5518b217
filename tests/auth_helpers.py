"""Identity for the test servers: a real user and a real API token in the server's own
database, so every suite talks to the server signed in, never with AUTH_MODE=none.

    token = issue_token(settings.database_url)            # admin user "tester", admin scope
    client = httpx.Client(base_url=url, headers=auth_headers(token))
"""

from __future__ import annotations

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

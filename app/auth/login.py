"""Checking a local sign-in: lockout first, then the password, with one answer and the
same argon2 work for an unknown user, a wrong password and a disabled account."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from app.auth import lockout, passwords, users
from app.auth.users import User

# One lock per stripe of names (not per name: the set of names tried is unbounded).
_STRIPES = [threading.Lock() for _ in range(64)]


@dataclass(frozen=True)
class Locked:
    retry_after_s: int


def authenticate(engine: Engine, username: str, password: str, address: str,
                 max_failures: int, lockout_s: int) -> User | Locked | None:
    """The user when the password is right (and the name not locked for this client
    address); Locked while locked; None for any other failure (counted towards the
    lockout; see app/auth/lockout.py)."""
    # Each attempt is counted as a failure before its (slow) password check, and the
    # lockout check and the count are one step per name: guesses sent at once get no
    # more tries than guesses sent one after another. Success clears the count.
    with _STRIPES[int(lockout.key(username), 16) % len(_STRIPES)]:
        if wait := lockout.retry_after(engine, username, address):
            return Locked(wait)
        lockout.record_failure(engine, username, address, max_failures, lockout_s)
    user = users.find(engine, username)
    stored = users.password_hash(engine, user.id) if user else None
    ok = passwords.verify(stored, password) if stored else passwords.dummy_verify(password)
    if ok and user is not None and not user.disabled:
        lockout.clear(engine, username, address)
        users.touch_login(engine, user.id)
        if passwords.needs_rehash(stored or ""):
            users.update(engine, user.id, password_hash=passwords.hash_password(password))
        return user
    return None


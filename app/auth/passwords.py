"""Password hashing with argon2id (argon2-cffi), and the policy a new password meets.

Unknown usernames get `dummy_verify`, which costs what a real verification costs, so
the answer's timing does not tell whether a user exists.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
# Bounds the work one request can ask of argon2 and the body it sends.
MAX_LENGTH = 1024

_hasher = PasswordHasher()  # argon2id, the library's current (RFC 9106 low-memory) defaults


def policy_problem(password: str) -> str | None:
    """Why this password cannot be set, or None."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if not password.strip():
        return "must not be only spaces"
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def dummy_verify(password: str) -> bool:
    """A full argon2 verification that always fails (for unknown or disabled users)."""
    verify(_dummy_hash(), password)
    return False

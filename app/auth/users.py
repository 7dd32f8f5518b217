"""The users table: create, find, list, disable, set role and password; the roles."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from app.auth import passwords
from app.storage import metadata, new_id, stored_utc, utcnow

ROLES = ("analyst", "admin")
SOURCES = ("local", "oidc", "proxy")
USERNAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9._@-]{0,63}$"
_USERNAME = re.compile(USERNAME_PATTERN)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=True),
    sa.Column("oidc_issuer", sa.String(500), nullable=True),
    sa.Column("oidc_subject", sa.String(255), nullable=True),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
    # The groups the OIDC provider or trusted proxy last sent (a JSON list): what
    # per-dataset visibility (app/visibility.py) matches, also for the user's API tokens.
    sa.Column("groups", sa.Text, nullable=True),
    sa.UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_users_oidc"),
)
# Names are unique regardless of case ("Alice" and "alice" are one person).
sa.Index("uq_users_username_lower", sa.func.lower(users.c.username), unique=True)


class UserError(ValueError):
    """A bad user change; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UsernameTaken(UserError):
    """The username exists already (names are unique regardless of case)."""

    def __init__(self, username: str) -> None:
        super().__init__("username", f"{username!r} exists already")


@dataclass(frozen=True)
class User:
    id: str
    username: str
    display_name: str
    email: str | None
    role: str
    source: str
    disabled: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    groups: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _user(row: Any) -> User:
    groups = getattr(row, "groups", None)
    return User(row.id, row.username, row.display_name, row.email, row.role, row.source,
                bool(row.disabled), stored_utc(row.created_at), stored_utc(row.last_login_at),
                tuple(json.loads(groups)) if groups else ())


def stored_groups(groups: set[str] | list[str] | tuple[str, ...]) -> str | None:
    """The `groups` column value for these names (sorted, so an unchanged set is equal)."""
    return json.dumps(sorted(groups)) if groups else None


def check_username(username: str) -> str:
    if not _USERNAME.fullmatch(username):  # `$` alone would let "name\n" through
        raise UserError("username", "1 to 64 characters: letters, digits and . _ @ -, "
                        "starting with a letter or digit")
    return username


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError("role", f"expected one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if problem := passwords.policy_problem(password):
        raise UserError("password", problem)
    return password


def create(engine: Engine, username: str, role: str = "analyst", password: str | None = None,
           source: str = "local", display_name: str | None = None, email: str | None = None,
           oidc_issuer: str | None = None, oidc_subject: str | None = None) -> User:
    """A new user; UserError when a value is bad or the username is taken."""
    check_username(username)
    check_role(role)
    if source not in SOURCES:
        raise UserError("source", f"expected one of {', '.join(SOURCES)}")
    password_hash = passwords.hash_password(check_password(password)) if password else None
    values = {"id": new_id(), "username": username, "display_name": display_name or username,
              "email": email, "role": role, "source": source, "password_hash": password_hash,
              "oidc_issuer": oidc_issuer, "oidc_subject": oidc_subject, "disabled": False,
              "created_at": utcnow(), "last_login_at": None}
    try:
        with engine.begin() as conn:
            if conn.execute(sa.select(users.c.id).where(_named(username))).first():
                raise UsernameTaken(username)
            conn.execute(users.insert().values(**values))
    except IntegrityError:  # the same name (any case) added at the same moment
        raise UsernameTaken(username) from None
    return _user(SimpleNamespace(**values))


def _named(username: str) -> sa.ColumnElement[bool]:
    # Usernames are unique regardless of case: "Alice" and "alice" are one person.
    return sa.func.lower(users.c.username) == username.lower()


def find(engine: Engine, username: str) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(_named(username))).first()
    return _user(row) if row else None


def get(engine: Engine, user_id: str) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.id == user_id)).first()
    return _user(row) if row else None


def find_oidc(engine: Engine, issuer: str, subject: str) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(
            users.c.oidc_issuer == issuer, users.c.oidc_subject == subject)).first()
    return _user(row) if row else None


def list_all(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        return [_user(r) for r in conn.execute(sa.select(users).order_by(users.c.username))]


def password_hash(engine: Engine, user_id: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(users.c.password_hash).where(users.c.id == user_id)).scalar_one_or_none()


def admin_exists(engine: Engine) -> bool:
    with engine.connect() as conn:
        q = sa.select(users.c.id).where(users.c.role == "admin", users.c.disabled.is_(False))
        return conn.execute(q.limit(1)).first() is not None


class LastAdmin(Exception):
    """The change would leave no enabled admin."""


def update(engine: Engine, user_id: str, keep_an_admin: bool = False,
           **values: Any) -> User | None:
    """Set columns (role, disabled, display_name, email, last_login_at, password, ...);
    None if absent. With keep_an_admin, raise LastAdmin instead of demoting or disabling
    the last enabled admin."""
    values = _column_values(values)
    with engine.begin() as conn:
        if keep_an_admin and _leaves_no_admin(conn, user_id, values):
            raise LastAdmin()
        if values:
            conn.execute(users.update().where(users.c.id == user_id).values(**values))
        row = conn.execute(sa.select(users).where(users.c.id == user_id)).first()
    return _user(row) if row else None


def _column_values(values: dict[str, Any]) -> dict[str, Any]:
    """Checked values, with a password turned into its hash."""
    values = dict(values)
    if "role" in values:
        check_role(values["role"])
    if values.get("password") is not None:
        values["password_hash"] = passwords.hash_password(check_password(values["password"]))
    values.pop("password", None)
    return values


def _leaves_no_admin(conn: sa.Connection, user_id: str, values: dict[str, Any]) -> bool:
    # A write to the enabled admins' rows first: it locks them until this transaction ends
    # (PostgreSQL: row locks; SQLite: the database's one write lock), so two admins
    # demoting each other at once, even from two replicas, go one after the other and the
    # second sees the first's change. A plain SELECT would not do it on SQLite, where the
    # transaction only starts with its first write.
    enabled_admin = sa.and_(users.c.role == "admin", users.c.disabled.is_(False))
    conn.execute(users.update().where(enabled_admin).values(role=users.c.role))
    admins = conn.execute(sa.select(users.c.id).where(enabled_admin)).scalars().all()
    demoting = values.get("role", "admin") != "admin" or values.get("disabled") is True
    return demoting and set(admins) == {user_id}


def set_password(engine: Engine, user_id: str, password: str) -> User | None:
    return update(engine, user_id, password=password)


def set_disabled(engine: Engine, user_id: str, disabled: bool) -> User | None:
    return update(engine, user_id, disabled=disabled)


def touch_login(engine: Engine, user_id: str) -> None:
    update(engine, user_id, last_login_at=utcnow())

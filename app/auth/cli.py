"""`corral users|tokens|setup-code`: accounts, API tokens and the first admin's setup
code from the server's shell, on the database named by DATABASE_URL (as the server).

    corral users add NAME [--role analyst|admin] [--password-stdin]
    corral users disable|enable NAME
    corral users reset-password NAME [--password-stdin]
    corral users list
    corral tokens create --user NAME [--scope query|admin] [--expires-days N] [--name TEXT]
    corral tokens revoke ID
    corral tokens list [--user NAME]
    corral setup-code [--expires-minutes 1440]

Exit 2 for a bad argument (the message names it); `setup-code` exits 3 when an admin
exists already. Secrets are printed on stdout alone, messages go to stderr.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from sqlalchemy.engine import Engine

from app.auth import bootstrap, sessions, tokens, users
from app.auth.users import UserError
from app.settings import Settings
from app.storage import make_engine, migrate, sqlalchemy_url

DEFAULT_DATABASE_URL = Settings.model_fields["database_url"].default


class ArgumentError(Exception):
    """A bad argument; the message names it."""


def add_parsers(sub: Any) -> None:
    _users_parser(sub.add_parser("users", help="local accounts"))
    _tokens_parser(sub.add_parser("tokens", help="API tokens"))
    code = sub.add_parser("setup-code", help="a one-time code to create the first admin")
    code.add_argument("--expires-minutes", type=int, default=bootstrap.DEFAULT_EXPIRES_MINUTES)


def _users_parser(p: argparse.ArgumentParser) -> None:
    cmds = p.add_subparsers(dest="command", required=True)
    add = cmds.add_parser("add", help="add a local account")
    add.add_argument("name")
    add.add_argument("--role", choices=users.ROLES, default="analyst")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from stdin instead of prompting twice")
    for name in ("disable", "enable"):
        cmds.add_parser(name, help=f"{name} an account").add_argument("name")
    reset = cmds.add_parser("reset-password", help="set a new password (ends their sessions)")
    reset.add_argument("name")
    reset.add_argument("--password-stdin", action="store_true")
    cmds.add_parser("list", help="every user")


def _tokens_parser(p: argparse.ArgumentParser) -> None:
    cmds = p.add_subparsers(dest="command", required=True)
    create = cmds.add_parser("create", help="print a new token (only the token, on stdout)")
    create.add_argument("--user", required=True)
    create.add_argument("--scope", choices=tokens.SCOPES, default="query")
    create.add_argument("--expires-days", type=int, default=90)
    create.add_argument("--name", default="cli")
    cmds.add_parser("revoke", help="revoke a token by id").add_argument("id")
    listing = cmds.add_parser("list", help="tokens, newest first (never their secrets)")
    listing.add_argument("--user")


def _engine() -> Engine:
    engine = make_engine(sqlalchemy_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL))
    migrate(engine)
    return engine


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise ArgumentError("password: the two entries differ")
    return first


def _user(engine: Engine, name: str, arg: str = "NAME") -> users.User:
    user = users.find(engine, name)
    if user is None:
        raise ArgumentError(f"{arg} {name!r}: no such user (corral users list)")
    return user


def run(args: argparse.Namespace) -> int:
    """Run one of these commands; the exit status."""
    try:
        engine = _engine()
        if args.group == "setup-code":
            return _setup_code(engine, args.expires_minutes)
        handler = _USERS if args.group == "users" else _TOKENS
        return handler[args.command](engine, args)
    except (ArgumentError, UserError) as exc:
        print(f"corral: {exc}", file=sys.stderr)
        return 2


def _setup_code(engine: Engine, minutes: int) -> int:
    if not 1 <= minutes <= 10080:
        raise ArgumentError("--expires-minutes: expected 1 to 10080 (a week)")
    try:
        code = bootstrap.create_code(engine, minutes)
    except bootstrap.AdminExists:
        print("corral: an admin exists already; sign in as them (or `corral users add NAME "
              "--role admin`)", file=sys.stderr)
        return 3
    print(code)
    print(f"corral: enter this code on the sign-in page within {minutes} minutes to create "
          "the first admin (POST /api/auth/setup); it works once", file=sys.stderr)
    return 0


def _users_add(engine: Engine, args: argparse.Namespace) -> int:
    users.check_username(args.name)
    password = users.check_password(_password(args.password_stdin))
    user = users.create(engine, args.name, args.role, password)
    print(f"corral: added {user.username} ({user.role})", file=sys.stderr)
    return 0


def _users_enable(engine: Engine, args: argparse.Namespace, disabled: bool = False) -> int:
    user = _user(engine, args.name)
    users.set_disabled(engine, user.id, disabled)
    if disabled:
        sessions.delete_for_user(engine, user.id)
    print(f"corral: {user.username} {'disabled' if disabled else 'enabled'}", file=sys.stderr)
    return 0


def _users_reset(engine: Engine, args: argparse.Namespace) -> int:
    user = _user(engine, args.name)
    users.set_password(engine, user.id, users.check_password(_password(args.password_stdin)))
    sessions.delete_for_user(engine, user.id)
    print(f"corral: new password set for {user.username}; their sessions ended", file=sys.stderr)
    return 0


def _users_list(engine: Engine, _: argparse.Namespace) -> int:
    for u in users.list_all(engine):
        state = "disabled" if u.disabled else "enabled"
        print(f"{u.username}\t{u.role}\t{u.source}\t{state}")
    return 0


def _tokens_create(engine: Engine, args: argparse.Namespace) -> int:
    user = _user(engine, args.user, "--user")
    if not 1 <= args.expires_days <= 3650:
        raise ArgumentError("--expires-days: expected 1 to 3650")
    try:
        secret, _ = tokens.create(engine, user, args.name, args.scope, args.expires_days,
                                  max_days=3650)
    except UserError as exc:
        flag = {"scope": "--scope", "name": "--name", "username": "--user"}.get(exc.field,
                                                                                exc.field)
        raise ArgumentError(f"{flag}: {exc.message}") from None
    print(secret)
    return 0


def _tokens_revoke(engine: Engine, args: argparse.Namespace) -> int:
    if not tokens.revoke(engine, args.id):
        raise ArgumentError(f"ID {args.id!r}: no such token (corral tokens list)")
    print(f"corral: token {args.id} revoked", file=sys.stderr)
    return 0


def _tokens_list(engine: Engine, args: argparse.Namespace) -> int:
    owner = _user(engine, args.user, "--user").id if args.user else None
    for t in tokens.list_tokens(engine, owner):
        state = "revoked" if t.revoked_at else f"expires {t.expires_at:%Y-%m-%d}"
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        print(f"{t.id}\t{t.username}\t{t.scope}\tcrl_{t.prefix}...\t{t.name}\t{state}\t"
              f"last used {used}")
    return 0


_USERS = {"add": _users_add, "enable": _users_enable,
          "disable": lambda e, a: _users_enable(e, a, disabled=True),
          "reset-password": _users_reset, "list": _users_list}
_TOKENS = {"create": _tokens_create, "revoke": _tokens_revoke, "list": _tokens_list}

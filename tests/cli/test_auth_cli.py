"""`corral users|tokens` on a real SQLite database: accounts and tokens from the server's
shell, secrets on stdout alone, bad arguments named with exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.auth import tokens, users
from app.storage import make_engine

ROOT = Path(__file__).resolve().parents[2]


def corral(url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, text=True,
                          input=stdin, capture_output=True, timeout=120, check=False,
                          env={**os.environ, "DATABASE_URL": url})


def test_users_and_tokens_round_trip(tmp_path):
    url = f"sqlite:///{tmp_path}/corral.db"
    added = corral(url, "users", "add", "ana", "--role", "admin", "--password-stdin",
                   stdin="a long password\n")
    assert added.returncode == 0, added.stderr
    assert corral(url, "users", "list").stdout.split() == ["ana", "admin", "local", "enabled"]
    made = corral(url, "tokens", "create", "--user", "ana", "--scope", "admin",
                  "--expires-days", "3", "--name", "deploy")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    engine = make_engine(url)
    info, user = tokens.check(engine, secret)
    assert (user.username, info.scope, info.name) == ("ana", "admin", "deploy")
    listed = corral(url, "tokens", "list", "--user", "ana").stdout
    assert info.id in listed and secret not in listed
    assert corral(url, "tokens", "revoke", info.id).returncode == 0
    assert tokens.check(engine, secret) is None
    assert corral(url, "users", "disable", "ana").returncode == 0
    assert users.find(engine, "ana").disabled
    assert corral(url, "users", "enable", "ana").returncode == 0
    reset = corral(url, "users", "reset-password", "ana", "--password-stdin",
                   stdin="another long password\n")
    assert reset.returncode == 0, reset.stderr


def test_bad_arguments_are_named_with_exit_2(tmp_path):
    url = f"sqlite:///{tmp_path}/corral.db"
    weak = corral(url, "users", "add", "bob", "--password-stdin", stdin="short\n")
    assert weak.returncode == 2 and "password" in weak.stderr
    bad_name = corral(url, "users", "add", "x!y", "--password-stdin", stdin="a long password\n")
    assert bad_name.returncode == 2
    # Before: Python's `$` also matched before a final newline, so "bob\n" was a second
    # account that lists exactly like "bob".
    look_alike = corral(url, "users", "add", "bob\n", "--password-stdin",
                        stdin="a long password\n")
    assert look_alike.returncode == 2 and "username" in look_alike.stderr
    assert corral(url, "users", "add", "bob", "--password-stdin",
                  stdin="a long password\n").returncode == 0
    admin_scope = corral(url, "tokens", "create", "--user", "bob", "--scope", "admin")
    assert admin_scope.returncode == 2 and "--scope" in admin_scope.stderr
    nobody = corral(url, "tokens", "create", "--user", "nobody")
    assert nobody.returncode == 2 and "--user 'nobody'" in nobody.stderr
    assert corral(url, "users", "disable", "nobody").returncode == 2
    assert corral(url, "tokens", "revoke", "f" * 32).returncode == 2
    assert corral(url, "users", "add", "carl", "--role", "root").returncode == 2

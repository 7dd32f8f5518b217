"""The first admin on a fresh install: no user and no default password; `corral
setup-code` prints a one-time code, POST /api/auth/setup redeems it once."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from agent_server import ROOT, RunningServer, server_settings
from identity_helpers import set_past

REFUSED = 403


def setup_code(database_url: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", "setup-code"], cwd=ROOT,
                          env={**os.environ, "DATABASE_URL": database_url}, text=True,
                          capture_output=True, timeout=120, check=False)


@pytest.fixture()
def fresh(tmp_path):
    with RunningServer(server_settings(tmp_path, warm_pool_size=0), tester=None) as server:
        yield server


def test_setup_code_creates_the_first_admin_once(fresh):
    url = fresh.settings.database_url
    assert httpx.get(f"{fresh.url}/api/auth/config").json()["setup_required"] is True
    made = setup_code(url)
    assert made.returncode == 0, made.stderr
    code = made.stdout.strip()
    assert code and "\n" not in code and code not in made.stderr

    def setup(code: str, username: str = "root-admin", password: str = "a long admin secret"):
        return httpx.post(f"{fresh.url}/api/auth/setup",
                          json={"code": code, "username": username, "password": password})

    assert setup("wrong-" + code).status_code == REFUSED
    weak = setup(code, password="short")
    assert weak.status_code == 422 and weak.json()["detail"][0]["loc"][-1] == "password"
    first = setup(code)  # the weak attempt did not spend the code
    assert first.status_code == 200, first.text
    assert (first.json()["username"], first.json()["role"]) == ("root-admin", "admin")
    assert "corral_session" in first.cookies
    again = setup(code, username="second-admin")
    assert again.status_code == REFUSED and "admin exists already" in again.json()["detail"]
    assert httpx.get(f"{fresh.url}/api/auth/config").json()["setup_required"] is False
    after = setup_code(url)
    assert after.returncode == 3 and "admin exists already" in after.stderr
    assert after.stdout == ""
    login = httpx.post(f"{fresh.url}/api/auth/login",
                       json={"username": "root-admin", "password": "a long admin secret"})
    assert login.status_code == 200


def test_an_expired_code_is_refused(fresh):
    code = setup_code(fresh.settings.database_url).stdout.strip()
    set_past(fresh, "setup_codes", "expires_at", "code_hash",
             hashlib.sha256(code.encode()).hexdigest())
    answer = httpx.post(f"{fresh.url}/api/auth/setup",
                        json={"code": code, "username": "late", "password": "a long admin secret"})
    assert answer.status_code == REFUSED


def test_setup_code_names_a_bad_argument(fresh):
    made = subprocess.run([sys.executable, "-m", "app.cli", "setup-code", "--expires-minutes",
                           "0"], cwd=ROOT, text=True, capture_output=True, timeout=120, check=False,
                          env={**os.environ, "DATABASE_URL": fresh.settings.database_url})
    assert made.returncode == 2 and "--expires-minutes" in made.stderr


def test_setups_sent_at_once_make_one_admin(fresh):
    codes = [setup_code(fresh.settings.database_url).stdout.strip() for _ in range(2)]

    def setup(n: int) -> int:
        return httpx.post(f"{fresh.url}/api/auth/setup", timeout=60,
                          json={"code": codes[n % 2], "username": f"boss{n}",
                                "password": "a long admin secret"}).status_code

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(setup, range(6)))
    assert sorted(answers) == [200] + [REFUSED] * 5, answers
    winner = f"boss{answers.index(200)}"
    for n in range(6):
        login = httpx.post(f"{fresh.url}/api/auth/login", timeout=60,
                           json={"username": f"boss{n}", "password": "a long admin secret"})
        assert login.status_code == (200 if f"boss{n}" == winner else 401)

"""Every setting is validated at start-up; a bad value stops the server with a
message that names the variable (and no traceback)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]

BAD = {
    "EXECUTION_MODE": "kubernetes-ish",
    "MAX_ROWS": "0",
    "RUN_TIMEOUT_MS": "fast",
    "MAX_OUTPUT_BYTES": "12",
    "MAX_SANDBOXES": "-1",
    "SANDBOX_MEMORY_LIMIT": "lots",
    "SANDBOX_CPU_LIMIT": "0",
    "SANDBOX_PIDS_LIMIT": "1",
    "WARM_POOL_SIZE": "-1",
    "WARM_POOL_MAX_IDLE_S": "1",
    "WARM_POOL_MEMORY_BUDGET": "plenty",
    "LLM_BASE_URL": "ftp://models.example",
    "LLM_TIMEOUT_S": "-5",
    "DATABASE_URL": "mysql://root@localhost/corral",
    "LOG_LEVEL": "CHATTY",
    "PORT": "70000",
    "UI_DIR": "/nonexistent/ui",
    "AUTH_MODE": "ldap",
    "SESSION_MAX_AGE_S": "0",
    "SESSION_IDLE_TIMEOUT_S": "0",
    "COOKIE_SECURE": "maybe",
    "LOGIN_MAX_FAILURES": "0",
    "LOGIN_LOCKOUT_S": "7200",
    "API_TOKEN_MAX_DAYS": "0",
}


def clean_env(**extra: str) -> dict[str, str]:
    names = set(BAD) | {"ALLOW_UNSAFE_LOCAL", "LLM_MODEL", "LLM_API_KEY", "DATASETS_PATH"}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    env.update(extra)
    return env


@pytest.mark.parametrize("name", list(BAD))
def test_bad_value_names_the_variable(name, monkeypatch):
    for var in BAD:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(name, BAD[name])
    with pytest.raises(SettingsError) as exc:
        load_settings()
    assert name in str(exc.value)
    assert repr(BAD[name]) in str(exc.value) or name == "UI_DIR"


def test_unsafe_local_needs_the_acknowledgement(monkeypatch):
    monkeypatch.setenv("EXECUTION_MODE", "unsafe-local")
    monkeypatch.delenv("ALLOW_UNSAFE_LOCAL", raising=False)
    with pytest.raises(SettingsError, match="ALLOW_UNSAFE_LOCAL=true"):
        load_settings()


def test_llm_url_needs_a_model(monkeypatch):
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.delenv("LLM_MODEL", raising=False)
    with pytest.raises(SettingsError, match="LLM_MODEL"):
        load_settings()


def test_a_warm_pool_over_its_memory_budget_is_refused(monkeypatch):
    monkeypatch.setenv("WARM_POOL_SIZE", "8")
    monkeypatch.setenv("WARM_POOL_MEMORY_BUDGET", "256m")
    with pytest.raises(SettingsError, match="WARM_POOL_SIZE=8 .* WARM_POOL_MEMORY_BUDGET=256m"):
        load_settings()
    monkeypatch.setenv("WARM_POOL_MEMORY_BUDGET", "1g")
    assert load_settings().warm_pool_size == 8


def test_defaults_are_the_documented_ones(monkeypatch):
    for var in BAD:
        monkeypatch.delenv(var, raising=False)
    s = load_settings()
    assert (s.execution_mode, s.max_rows, s.run_timeout_ms, s.max_sandboxes) == (
        "docker", 200, 5000, 4)
    assert s.ui_dir is None and s.database_url.startswith("sqlite:///")
    assert (s.warm_pool_size, s.warm_pool_max_idle_s, s.warm_pool_memory_budget) == (2, 300, "256m")


def test_auth_defaults_are_the_documented_ones(monkeypatch):
    for var in BAD:
        monkeypatch.delenv(var, raising=False)
    s = load_settings()
    assert (s.auth_mode, s.auth_modes, s.cookie_secure) == ("local", ["local"], "auto")
    assert (s.session_max_age_s, s.session_idle_timeout_s) == (28800, 1800)
    assert (s.login_max_failures, s.login_lockout_s, s.api_token_max_days) == (5, 60, 365)


def test_auth_mode_is_a_list_or_exactly_none(monkeypatch):
    monkeypatch.setenv("AUTH_MODE", " OIDC, local ,local")
    assert load_settings().auth_modes == ["oidc", "local"]
    monkeypatch.setenv("AUTH_MODE", "none,local")
    with pytest.raises(SettingsError, match="AUTH_MODE"):
        load_settings()


def test_no_sign_in_only_on_a_loopback_host(monkeypatch):
    monkeypatch.setenv("AUTH_MODE", "none")
    for host in ("127.0.0.1", "::1", "localhost"):
        monkeypatch.setenv("HOST", host)
        assert load_settings().auth_modes == []
    for host in ("0.0.0.0", "10.1.2.3", "corral.example.com"):
        monkeypatch.setenv("HOST", host)
        with pytest.raises(SettingsError, match="AUTH_MODE=none .* loopback .*HOST="):
            load_settings()


def test_ui_dir_accepts_a_folder_with_index_html(tmp_path, monkeypatch):
    (tmp_path / "index.html").write_text("<html></html>")
    monkeypatch.setenv("UI_DIR", str(tmp_path))
    assert load_settings().ui_dir == tmp_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("command", [
    [sys.executable, "-m", "app"],
    [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", "0"],
])
def test_server_refuses_to_start_with_a_bad_value(command, tmp_path):
    env = clean_env(MAX_SANDBOXES="lots", DATASETS_PATH=str(ROOT / "datasets"),
                    DATABASE_URL=f"sqlite:///{tmp_path}/c.db", PORT=str(_free_port()))
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode != 0
    assert "MAX_SANDBOXES" in proc.stderr and "'lots'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_server_refuses_to_start_without_datasets(tmp_path):
    env = clean_env(DATASETS_PATH=str(tmp_path / "empty"), EXECUTION_MODE="bwrap",
                    DATABASE_URL=f"sqlite:///{tmp_path}/c.db")
    proc = subprocess.run(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0
    assert "DATASETS_PATH" in proc.stderr and "manifest.json" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_server_refuses_to_start_when_the_database_is_unreachable(tmp_path):
    port = _free_port()  # nothing listens there
    env = clean_env(DATASETS_PATH=str(ROOT / "datasets"), EXECUTION_MODE="bwrap",
                    DATABASE_URL=f"postgresql://corral:s3cretpw@127.0.0.1:{port}/corral")
    proc = subprocess.run(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0
    assert "DATABASE_URL: cannot open the database" in proc.stderr
    assert "s3cretpw" not in proc.stderr and "Traceback" not in proc.stderr

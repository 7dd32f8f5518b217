"""shell.nix, checked offline with Debian's nix-bin (nixpkgs cannot be fetched here).

Verified: it parses; it evaluates for Linux and macOS against a stub <nixpkgs> that
knows only real attribute names (nixpkgs_stub/); it names a package for every command
the Makefile, scripts and tests call; its shellHook, run by bash, bootstraps and
activates .venv. Not verified: that nixpkgs builds the shell (`nix-shell --pure`)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from devenv_helpers import REPO

STUB = Path(__file__).parent / "nixpkgs_stub"
NIX = shutil.which("nix-instantiate")
pytestmark = pytest.mark.skipif(NIX is None, reason="nix-instantiate missing: apt-get install nix-bin")

# command the project runs -> nixpkgs attribute that provides it, and where it is run.
COMMANDS = {
    "python3": ("python311", "Makefile"),
    "make": ("gnumake", "Makefile"),
    "git": ("git", ".ci/run"),
    "docker": ("docker-client", "Makefile"),
    "curl": ("curl", ".ci/run"),
}
LINUX_COMMANDS = {
    "bwrap": ("bubblewrap", "app/executors/bwrap.py"),
    "setpriv": ("util-linux", "app/executors/bwrap.py"),
    "chromium": ("chromium", "tests/ui/conftest.py"),
}


@pytest.fixture(scope="module")
def nix_env(tmp_path_factory) -> dict[str, str]:
    """A private store and state dir: nothing is written under /nix of this machine."""
    root = tmp_path_factory.mktemp("nix")
    (root / "conf").mkdir()
    (root / "conf" / "nix.conf").write_text("build-users-group =\n")
    return {"PATH": "/usr/bin:/bin", "HOME": str(root), "NIX_CONF_DIR": str(root / "conf"),
            "NIX_STATE_DIR": str(root / "state"), "NIX_LOG_DIR": str(root / "log"),
            "NIX_STORE": str(root / "store")}


def nix(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NIX, "--store", env["NIX_STORE"], "--readonly-mode", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def shell_for(env: dict, system: str) -> dict:
    expr = f'import ./shell.nix {{ pkgs = import <nixpkgs> {{ system = "{system}"; }}; }}'
    proc = nix(env, "-I", f"nixpkgs={STUB}", "--eval", "--strict", "--json", "-E", expr)
    assert proc.returncode == 0, f"shell.nix does not evaluate for {system}: {proc.stderr}"
    return json.loads(proc.stdout)


def test_shell_nix_parses(nix_env):
    proc = nix(nix_env, "--parse", "shell.nix")
    assert proc.returncode == 0, proc.stderr


def test_the_stub_rejects_an_unknown_package(nix_env):
    """The check below means something only if a wrong name fails."""
    proc = nix(nix_env, "-I", f"nixpkgs={STUB}", "--eval", "--strict", "-E",
               "(import <nixpkgs> { }).pyhton311")
    assert proc.returncode != 0 and "pyhton311" in proc.stderr


def test_linux_shell_has_a_package_for_every_command(nix_env):
    shell = shell_for(nix_env, "x86_64-linux")
    for command, (attr, used_in) in {**COMMANDS, **LINUX_COMMANDS}.items():
        assert command in (REPO / used_in).read_text(), f"{command} no longer used in {used_in}"
        assert attr in shell["packages"], f"{command}: shell.nix lacks {attr}"
    assert "stub-gcc-lib/lib" in shell["env"]["LD_LIBRARY_PATH"]  # manylinux wheels


def test_macos_shell_evaluates_without_the_linux_only_tools(nix_env):
    shell = shell_for(nix_env, "aarch64-darwin")
    for command, (attr, _) in COMMANDS.items():
        assert attr in shell["packages"], f"{command}: shell.nix lacks {attr} on macOS"
    assert not set(shell["packages"]) & {a for a, _ in LINUX_COMMANDS.values()}
    assert shell["env"]["LD_LIBRARY_PATH"] == ""


def _run_hook(env: dict, workdir: Path) -> subprocess.CompletedProcess:
    hook = shell_for(env, "x86_64-linux")["shellHook"]
    script = f'{hook}\necho "VIRTUAL_ENV=${{VIRTUAL_ENV:-}}"'
    return subprocess.run(["bash", "-c", script], cwd=workdir, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(workdir),
                               "PYTHON": "/nix/store/stub-python311/bin/python3.11"},
                          timeout=60, check=False)


def test_shell_hook_bootstraps_and_activates_the_venv(nix_env, tmp_path):
    # A project whose `make bootstrap` records its PYTHON and makes an activatable venv.
    (tmp_path / "Makefile").write_text(
        "bootstrap:\n\tmkdir -p .venv/bin && echo \"$(PYTHON)\" > .venv/made-by\n"
        "\techo 'VIRTUAL_ENV=$$PWD/.venv; export VIRTUAL_ENV' > .venv/bin/activate\n"
    )
    proc = _run_hook(nix_env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / ".venv/made-by").read_text().strip().endswith("stub-python311/bin/python3.11")
    assert f"VIRTUAL_ENV={tmp_path}/.venv" in proc.stdout


def test_shell_hook_refuses_a_venv_of_another_python(nix_env, tmp_path):
    (tmp_path / "Makefile").write_text("bootstrap:\n\ttouch bootstrapped\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv/pyvenv.cfg").write_text("home = /usr/bin\n")
    proc = _run_hook(nix_env, tmp_path)
    assert "made by another Python; remove it (rm -rf .venv)" in proc.stderr
    assert not (tmp_path / "bootstrapped").exists()

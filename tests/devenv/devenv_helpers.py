"""Helpers of the dev-environment tests: read .devcontainer/devcontainer.json (JSONC)
the way the Dev Containers tools do, and turn it into the `docker run` they would issue."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEVCONTAINER_DIR = REPO / ".devcontainer"
# The base `make images` resolved (build/base-image: the json's default online, the
# debootstrap-built Debian 12 offline).
_RESOLVED = REPO / "build" / "base-image"
OFFLINE_BASE = _RESOLVED.read_text().strip() if _RESOLVED.is_file() else "corral/base:bookworm"
TEST_IMAGE = "corral/devcontainer:test"

# A JSONC token: a string (kept as is), a // or /* */ comment (dropped), anything else.
_JSONC = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/|[^"/]+|/', re.DOTALL)


def load_jsonc(path: Path) -> dict:
    """devcontainer.json may hold comments and trailing commas; strip them, not strings."""
    text = "".join(
        tok for tok in _JSONC.findall(path.read_text()) if not tok.startswith(("//", "/*"))
    )
    text = re.sub(r',(\s*[}\]])', r"\1", text)
    return json.loads(text)


def substitute(value: str, workspace: Path) -> str:
    """The json's ${localWorkspaceFolder} variables, as the tools expand them."""
    return value.replace("${localWorkspaceFolder}", str(workspace))


def mount_flag(spec: str, workspace: Path) -> list[str]:
    """A devcontainer mount string is already `docker run --mount` syntax."""
    return ["--mount", substitute(spec, workspace)]


def docker(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        ["docker", *args], check=False, capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {proc.stderr.strip()[-2000:]}")
    return proc

"""Make the repository's collection importable as ansible_collections.corral.deploy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / "collections"
COLLECTION = COLLECTIONS / "ansible_collections" / "corral" / "deploy"
VENV_BIN = Path(sys.executable).parent

# ansible_collections is a namespace package: this path joins the one in site-packages.
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))


@pytest.fixture
def adhoc(tmp_path):
    """Run one module on localhost through `ansible` (action plugin included); return its JSON."""

    def run(module, args, *flags, expect_rc=(0,)):
        env = dict(
            os.environ,
            ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
            ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
            ANSIBLE_STDOUT_CALLBACK="json",
            ANSIBLE_LOCALHOST_WARNING="0",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
            PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        proc = subprocess.run(
            [str(VENV_BIN / "ansible"), "localhost", "-m", module, "-a", json.dumps(args), *flags],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode in expect_rc, proc.stdout + proc.stderr
        doc = json.loads(proc.stdout)
        return doc["plays"][0]["tasks"][0]["hosts"]["localhost"]

    return run

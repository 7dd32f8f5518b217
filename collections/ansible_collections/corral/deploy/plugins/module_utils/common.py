# Copyright: Corral contributors
# Apache-2.0
"""Helpers shared by the corral.deploy modules: commands with a deadline, versions."""

from __future__ import annotations

import os
import re
import shutil
import subprocess


def run(argv, timeout=10, env=None):
    """Run argv; return (rc, stdout, stderr). rc is None when the command is missing or
    did not finish in `timeout` seconds (stderr says which)."""
    if shutil.which(argv[0]) is None and not os.path.isabs(argv[0]):
        return None, "", f"{argv[0]}: command not found"
    full_env = dict(os.environ, LC_ALL="C")
    if env:
        full_env.update(env)
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=full_env, check=False
        )
    except subprocess.TimeoutExpired:
        return None, "", "{} did not answer within {}s".format(" ".join(argv), timeout)
    except OSError as exc:
        return None, "", str(exc)
    return proc.returncode, proc.stdout, proc.stderr


def version_tuple(text):
    """'20.10.24+dfsg1' -> (20, 10, 24); None when no version is in text."""
    if text is None:
        return None
    match = re.search(r"(\d+(?:\.\d+)*)", str(text))
    if not match:
        return None
    return tuple(int(part) for part in match.group(1).split("."))


def version_at_least(found, minimum):
    """True when version string `found` >= `minimum` (missing parts count as 0)."""
    have, need = version_tuple(found), version_tuple(minimum)
    if have is None or need is None:
        return False
    width = max(len(have), len(need))
    return have + (0,) * (width - len(have)) >= need + (0,) * (width - len(need))

"""Fixtures of the deployment tests (helpers in deploy_helpers.py)."""

from __future__ import annotations

import pytest
from deploy_helpers import debian_target


@pytest.fixture(scope="module")
def debian_container():
    """A fresh Debian 12 (no systemd, no Docker) that stays up for the module's tests."""
    with debian_target() as name:
        yield name

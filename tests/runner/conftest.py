"""Fixtures for the runner tests; the helpers live in runner_harness.py."""

from __future__ import annotations

import pytest
from runner_harness import run


@pytest.fixture
def sql():
    return lambda code, **kw: run("sql", code, **kw)


@pytest.fixture
def python():
    return lambda code, **kw: run("python", code, **kw)

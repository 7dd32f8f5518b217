"""The planners' shape (STYLE.md): small functions, no dataset knowledge in code, and
nothing outside app/planners/ reaching into the offline planner."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from radon.complexity import cc_visit

ROOT = Path(__file__).resolve().parents[2]
PLANNERS = sorted((ROOT / "app" / "planners").rglob("*.py"))
MAX_COMPLEXITY = 15
MAX_LINES = 60


@pytest.mark.parametrize("path", PLANNERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_functions_are_small_and_simple(path):
    too_big = [f"{b.name}: complexity {b.complexity}, {b.endline - b.lineno + 1} lines"
               for b in cc_visit(path.read_text()) if b.letter in ("F", "M")
               if b.complexity > MAX_COMPLEXITY or b.endline - b.lineno + 1 > MAX_LINES]
    assert not too_big


def test_only_the_planners_package_imports_the_offline_planner():
    for path in (ROOT / "app").rglob("*.py"):
        if "planners" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("app.planners.offline"), path


def test_no_column_or_dataset_name_in_the_planner_code():
    """Every table and column name of the bundled manifest is data: none appears as a
    string in the planners (calendar words like "year" are English, not a dataset's)."""
    manifest = json.loads((ROOT / "datasets" / "manifest.json").read_text())
    names = set(manifest["datasets"])
    for entry in manifest["datasets"].values():
        for table, spec in entry["tables"].items():
            names.add(table)
            names |= {c["name"] for c in spec["columns"]}
    names -= {"year", "month", "day", "hour", "name", "type", "model", "minute"}  # English
    for path in PLANNERS:
        strings = {n.value for n in ast.walk(ast.parse(path.read_text()))
                   if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        assert not strings & names, f"{path.name}: {sorted(strings & names)}"

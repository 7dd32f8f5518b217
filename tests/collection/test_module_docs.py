"""Every module of the collection documents itself in YAML that parses, with exactly the
options its argument spec accepts: `ansible-doc` and the collection docs read that text,
and a broken block silently leaves a module undocumented."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

MODULES = Path(__file__).resolve().parents[2] / "collections/ansible_collections/corral/deploy/plugins/modules"


def _constants(path: Path) -> dict[str, str]:
    tree = ast.parse(path.read_text())
    return {node.targets[0].id: node.value.value for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}


def _argument_spec_keys(path: Path) -> set[str]:
    """The keys of the dict literal passed as argument_spec= to AnsibleModule, without the
    `_private` ones an action plugin fills in (not for users, so not documented)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.keyword) and node.arg == "argument_spec" \
                and isinstance(node.value, ast.Dict):
            return {k.value for k in node.value.keys
                    if isinstance(k, ast.Constant) and not k.value.startswith("_")}
    raise AssertionError(f"{path.name}: no argument_spec={{...}} literal found")


@pytest.mark.parametrize("path", sorted(MODULES.glob("*.py")), ids=lambda p: p.stem)
def test_documentation_parses_and_lists_every_option(path: Path) -> None:
    constants = _constants(path)
    for block in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
        assert block in constants, f"{path.name} has no {block}"
        yaml.safe_load(constants[block])  # raises on broken YAML, naming line and column
    doc = yaml.safe_load(constants["DOCUMENTATION"])
    assert doc["module"] == path.stem
    assert set(doc.get("options") or {}) == _argument_spec_keys(path), (
        f"{path.name}: DOCUMENTATION options differ from the argument spec"
    )

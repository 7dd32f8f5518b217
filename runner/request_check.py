"""Validate a request against runner/schema.json without importing jsonschema.

Why: jsonschema costs ~75 ms of import time, and the runner starts once per query.
The request schema uses a handful of keywords; this checks exactly those, reading
every constraint from schema.json (the one definition). Any other keyword in the
request schema raises at load time, so the schema cannot grow past this checker
unnoticed; tests/runner/test_request_check.py compares it with jsonschema.
"""

from __future__ import annotations

import json
import re
from typing import Any

from runner.contract import SCHEMA_PATH

SUPPORTED = {
    "type", "const", "enum", "required", "additionalProperties", "properties",
    "minimum", "maximum", "minLength", "maxLength", "pattern", "description",
}
TYPES = {"object": dict, "string": str, "boolean": bool, "array": list}


def _load() -> dict[str, Any]:
    request = json.loads(SCHEMA_PATH.read_text())["$defs"]["request"]
    for spec in [request, *request["properties"].values()]:
        unknown = set(spec) - SUPPORTED
        if unknown:
            raise RuntimeError(f"runner/request_check.py does not handle {sorted(unknown)}")
    return request


REQUEST = _load()


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, TYPES[name])


def _check_value(field: str, value: Any, spec: dict[str, Any]) -> str | None:
    where = f"request field '{field}'"
    if "const" in spec and value != spec["const"]:
        return f"{where}: {spec['const']!r} was expected, got {value!r}"
    if "enum" in spec and value not in spec["enum"]:
        return f"{where}: {value!r} is not one of {spec['enum']!r}"
    if "type" in spec and not _is_type(value, spec["type"]):
        return f"{where}: {value!r} is not of type '{spec['type']}'"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in spec and value < spec["minimum"]:
            return f"{where}: {value!r} is less than the minimum of {spec['minimum']}"
        if "maximum" in spec and value > spec["maximum"]:
            return f"{where}: {value!r} is greater than the maximum of {spec['maximum']}"
    if isinstance(value, str):
        if "minLength" in spec and len(value) < spec["minLength"]:
            return f"{where}: must have at least {spec['minLength']} character(s)"
        if "maxLength" in spec and len(value) > spec["maxLength"]:
            return f"{where}: is longer than {spec['maxLength']} characters"
        if "pattern" in spec and not re.search(spec["pattern"], value):
            return f"{where}: {value[:80]!r} does not match {spec['pattern']!r}"
    return None


def request_problem(message: Any) -> str | None:
    """None when `message` is a valid request, else one line naming the bad field."""
    if not isinstance(message, dict):
        return f"request field '(root)': a JSON object was expected, got {type(message).__name__}"
    for name in REQUEST.get("required", []):
        if name not in message:
            return f"request field '{name}': is required but missing"
    if REQUEST.get("additionalProperties") is False:
        extra = sorted(set(message) - set(REQUEST["properties"]))
        if extra:
            return f"request field '{extra[0]}': unknown field (allowed: {sorted(REQUEST['properties'])})"
    for name in sorted(message):
        problem = _check_value(name, message[name], REQUEST["properties"][name])
        if problem:
            return problem
    return None

"""Reading and validating datasets/manifest.json against app/manifest.schema.json.

One schema for the manifest; the agent server checks it at start-up and
`corral datasets add/check` before they write or trust anything. Errors name the
dataset, the table and the field, so an operator can fix the file without reading
code.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

MANIFEST = "manifest.json"
SCHEMA_PATH = Path(__file__).with_name("manifest.schema.json")


class ManifestError(Exception):
    """The manifest is missing, unreadable or invalid; the message names the place."""


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def where(path: list[Any], data: dict[str, Any]) -> str:
    """A JSON path in the manifest as words: dataset 'x', table 'y', column 2 ('z'), field 'w'."""
    parts: list[str] = []
    node: Any = data
    labels = {"datasets": "dataset", "tables": "table", "columns": "column",
              "keys": "key", "example_questions": "example question"}
    i = 0
    while i < len(path):
        step = path[i]
        label = labels.get(step) if isinstance(step, str) else None
        if label and i + 1 < len(path):
            item = path[i + 1]
            node = node[step][item] if _has(node, step, item) else None
            name = f" ({node['name']!r})" if isinstance(node, dict) and "name" in node else ""
            shown = f"{item!r}" if isinstance(item, str) else f"{item + 1}"
            parts.append(f"{label} {shown}{name}")
            i += 2
            continue
        parts.append(f"field {step!r}")
        node = node[step] if _has(node, step) else None
        i += 1
    return ", ".join(parts) or "the top level"


def _has(node: Any, *steps: Any) -> bool:
    for step in steps:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return False
    return True


def validate(data: Any, source: str = MANIFEST) -> dict[str, Any]:
    """The manifest when it is valid; ManifestError naming the first problems otherwise."""
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        shown = [f"{where(list(e.absolute_path), data)}: {e.message}" for e in errors[:5]]
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise ManifestError(f"{source} is invalid: " + "; ".join(shown) + more)
    _check_references(data, source)
    return data


def _check_references(data: dict[str, Any], source: str) -> None:
    """What a JSON Schema cannot say: unique table names, keys between known columns,
    no duplicate column names."""
    owner: dict[str, str] = {}
    for name, ds in data["datasets"].items():
        for table, spec in ds["tables"].items():
            if table in owner:
                raise ManifestError(
                    f"{source}: dataset {name!r}, table {table!r}: the table name is already "
                    f"used by dataset {owner[table]!r}; table names become view names and must "
                    "be unique across the manifest")
            owner[table] = name
            seen = [c["name"].lower() for c in spec["columns"] + spec.get("derived", [])]
            dupes = sorted({c for c in seen if seen.count(c) > 1})
            if dupes:
                raise ManifestError(f"{source}: dataset {name!r}, table {table!r}: duplicate "
                                    f"column names {', '.join(dupes)} (derived columns "
                                    "included)")
        for i, key in enumerate(ds.get("keys", [])):
            _check_key(source, name, ds, i, key)


def _check_key(source: str, name: str, ds: dict[str, Any], i: int, key: dict[str, Any]) -> None:
    place = f"{source}: dataset {name!r}, key {i + 1}"
    ends = {end: [key[end]] if isinstance(key[end], str) else key[end] for end in ("from", "to")}
    if len(ends["from"]) != len(ends["to"]):
        raise ManifestError(f"{place}: 'from' and 'to' name different numbers of columns")
    for end, refs in ends.items():
        if len({r.split(".", 1)[0] for r in refs}) != 1:
            raise ManifestError(f"{place}, field {end!r}: all columns must be of one table")
        for ref in refs:
            table, column = ref.split(".", 1)
            columns = [c["name"] for c in ds["tables"].get(table, {}).get("columns", [])]
            if column not in columns:
                raise ManifestError(f"{place}, field {end!r}: {ref} is not a column of a "
                                    "table of this dataset")


def load(folder: Path) -> dict[str, Any]:
    """Read and validate folder/manifest.json."""
    path = folder / MANIFEST
    if not path.is_file():
        raise ManifestError(
            f"no {MANIFEST} in {folder}; point DATASETS_PATH at the folder holding the "
            "datasets (the repository's datasets/ or /data in the images)")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ManifestError(f"cannot read {path}: {exc}") from None
    return validate(data, str(path))

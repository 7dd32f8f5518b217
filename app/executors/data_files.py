"""The dataset files a sandbox gets: every table's file name from the manifest, so a run
limited to some tables (the datasets its user may see, app/visibility.py) is given only
theirs by the executors that mount files per run (k8s, bwrap)."""

from __future__ import annotations

import json
from pathlib import Path

MANIFEST = "manifest.json"


def table_files(folder: str | Path) -> dict[str, str]:
    """table -> its file name (relative to the folder), from folder/manifest.json."""
    manifest = json.loads((Path(folder) / MANIFEST).read_text())
    return {table: spec["file"] for entry in manifest["datasets"].values()
            for table, spec in entry["tables"].items()}


def files_for(tables: str, files: dict[str, str]) -> list[str]:
    """manifest.json and the files of `tables` (the request's comma list), in mount order."""
    return [MANIFEST, *sorted({files[t] for t in tables.split(",") if t in files})]


# What reading the manifest can raise when the folder is not what it should be.
UNREADABLE = (OSError, ValueError, KeyError, TypeError, AttributeError)

# Copyright: Corral contributors
# Apache-2.0
"""Load the collection's data files (data/*.yml) on the controller."""

from __future__ import annotations

import os

import yaml

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "data")


def load_data(name: str) -> dict:
    """Return the parsed YAML document data/<name>."""
    with open(os.path.join(DATA_DIR, name), encoding="utf-8") as handle:
        return yaml.safe_load(handle)

"""The web UI's static files, served at / when UI_DIR is set (venv deployments, tests).

Mounted under the API, not over it: an API path never falls through to a static file,
so GET on a POST-only path answers 405 with Allow and an unknown /api/ path a JSON 404.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi.staticfiles import StaticFiles
from starlette.routing import Match, Mount
from starlette.types import Scope

# Paths the API owns (app/api/*): the UI never answers them.
API_PREFIXES = ("/api/", "/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json")


class UIFiles(StaticFiles):
    """The UI's static files, minus what app/ui keeps for building its own container."""

    NOT_SERVED = ("Dockerfile", "container")

    def lookup_path(self, path: str) -> tuple[str, Any]:
        if path.split("/", 1)[0] in self.NOT_SERVED:
            return "", None
        return super().lookup_path(path)


class UIMount(Mount):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if path == "/api" or path.startswith(API_PREFIXES):
            return Match.NONE, {}
        return super().matches(scope)


def ui_mount(directory: Any) -> UIMount:
    return UIMount("/", app=UIFiles(directory=directory, html=True), name="ui")


def ui_dir_from_env() -> Path | None:
    """The module-level app is built before the lifespan loads the settings, so the
    static mount reads UI_DIR itself; a bad value is still refused by load_settings."""
    value = os.environ.get("UI_DIR", "")
    if value and os.path.isfile(os.path.join(value, "index.html")):
        return Path(value)
    return None

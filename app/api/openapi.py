"""The OpenAPI document: generated from the routes, then narrowed to this server's
settings (MAX_ROWS, the dataset names) once they are loaded, so a request that the
live schema allows is one the server accepts."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi


def narrowed_openapi(app: FastAPI) -> dict[str, Any]:
    """app.openapi(): the generated schema, narrowed once the services are up."""
    if app.openapi_schema is None:
        app.openapi_schema = get_openapi(
            title=app.title, version=app.version, description=app.description,
            routes=app.routes,
        )
    services = getattr(app.state, "services", None)
    if services is not None:  # narrow() is idempotent
        narrow(app.openapi_schema, services.settings.max_rows, services.catalog.names)
    return app.openapi_schema


def narrow(schema: dict[str, Any], max_rows: int, datasets: list[str]) -> None:
    parts = schema["components"]["schemas"]
    rows = parts["QueryRequest"]["properties"]["max_rows"]
    for branch in rows.get("anyOf", [rows]):
        if branch.get("type") == "integer":
            branch["maximum"] = max_rows
    dataset = parts["ChatRequest"]["properties"]["dataset"]
    for branch in dataset.get("anyOf", [dataset]):
        if branch.get("type") == "string":
            branch["enum"] = list(datasets)

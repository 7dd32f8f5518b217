"""The OpenAPI document: generated from the routes, with how to authenticate, then
narrowed to this server's settings (MAX_ROWS, the dataset names every user sees) once
they are loaded, so a request that the live schema allows is one the server accepts. Served
at /openapi.json and rendered at /docs for signed-in clients only: narrowed, it names the
installed datasets, which are no business of anyone who has not signed in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse

from app.api.deps import CurrentUser
from app.visibility import open_to_all

router = APIRouter(include_in_schema=False)


@router.get("/openapi.json")
def openapi_document(request: Request, _: CurrentUser) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs")
def openapi_page(request: Request, _: CurrentUser) -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{request.app.title} API")


def narrowed_openapi(app: FastAPI) -> dict[str, Any]:
    """app.openapi(): the generated schema, narrowed once the services are up."""
    if app.openapi_schema is None:
        app.openapi_schema = get_openapi(
            title=app.title, version=app.version, description=app.description,
            routes=app.routes,
        )
        declare_security(app.openapi_schema)
    services = getattr(app.state, "services", None)
    if services is not None:  # narrow() is idempotent
        # Only datasets without visible_to: a dataset some users may not see is named to
        # nobody who has not been shown it (app/visibility.py).
        narrow(app.openapi_schema, services.settings.max_rows, open_to_all(services.catalog))
    return app.openapi_schema


SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "An API token (`crl_...`): `Authorization: Bearer <token>`."},
    "session": {"type": "apiKey", "in": "cookie", "name": "corral_session",
                "description": "The browser's session after sign-in; state-changing "
                               "requests also send X-CSRF-Token."},
}


def declare_security(schema: dict[str, Any]) -> None:
    """Every operation that can answer 401 needs a token or a session (unless it says
    otherwise: sign-in itself is public)."""
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    for ops in schema["paths"].values():
        for op in ops.values():
            if "401" in op.get("responses", {}) and "security" not in op:
                op["security"] = [{"bearer": []}, {"session": []}]


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

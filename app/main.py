"""The agent server: FastAPI app factory and the module-level `app` for uvicorn.

    uvicorn app.main:app            # settings from the environment
    create_app(settings, executor)  # tests: explicit settings, optionally an executor

The routes live in app/api/ (one router per resource), their bodies in app/models.py,
the services they use in app/services.py.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from app.api import api_router
from app.api.errors import capacity_exceeded, database_unavailable, http_error
from app.api.openapi import narrowed_openapi
from app.api.ui import ui_mount
from app.api.validation import BodyLimit, validation_failed
from app.capacity import CapacityExceeded
from app.executors.base import Executor
from app.metrics import Metrics
from app.services import running_services
from app.settings import Settings


def create_app(settings: Settings | None = None, executor: Executor | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running_services(settings, executor, app.state.metrics) as services:
            app.state.services = services
            yield

    app = FastAPI(title="Corral agent server", version="0.1.0", lifespan=lifespan,
                  description="Ask your data: questions become SQL or Python run in sandboxes.")
    app.state.metrics = Metrics()
    app.openapi = lambda: narrowed_openapi(app)  # type: ignore[method-assign]
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(CapacityExceeded, capacity_exceeded)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(OperationalError, database_unavailable)
    app.add_middleware(BodyLimit)
    origins = settings.cors_origins if settings is not None else os.environ.get(
        "CORS_ORIGINS", "")
    if origins.strip():
        # Only for a UI served from another origin; the bundled UI and nginx need none.
        app.add_middleware(
            CORSMiddleware, allow_origins=[o.strip() for o in origins.split(",") if o.strip()],
            allow_methods=["GET", "POST", "DELETE"], allow_headers=["Content-Type"],
        )
    app.include_router(api_router)
    ui_dir = settings.ui_dir if settings is not None else _ui_dir_from_env()
    if ui_dir is not None:
        app.router.routes.append(ui_mount(ui_dir))  # last: every API route wins
    return app


def _ui_dir_from_env() -> Path | None:
    """The module-level app is built before the lifespan loads the settings, so the
    static mount reads UI_DIR itself; a bad value is still refused by load_settings."""
    value = os.environ.get("UI_DIR", "")
    if value and os.path.isfile(os.path.join(value, "index.html")):
        return Path(value)
    return None


app = create_app()

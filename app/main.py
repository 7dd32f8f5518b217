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

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.allocator import tune_malloc
from app.api import api_router, errors
from app.api.hosts import HostAllowList
from app.api.limits import BodyLimit
from app.api.openapi import narrowed_openapi
from app.api.ui import ui_dir_from_env, ui_mount
from app.auth.proxy import TrustedProxy
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

    # FastAPI's own /openapi.json, /docs and /redoc would be public: app/api/openapi.py
    # serves the first two to signed-in clients instead.
    app = FastAPI(title="Corral agent server", version="0.1.0", lifespan=lifespan,
                  description="Ask your data: questions become SQL or Python run in sandboxes.",
                  exception_handlers=errors.HANDLERS, openapi_url=None, docs_url=None,
                  redoc_url=None)
    app.state.metrics = Metrics()
    app.openapi = lambda: narrowed_openapi(app)  # type: ignore[method-assign]
    app.add_middleware(BodyLimit)
    cors = settings.cors_origins if settings else os.environ.get("CORS_ORIGINS", "")
    if origins := [o.strip() for o in cors.split(",") if o.strip()]:
        # Only for a UI served from another origin; the bundled UI and nginx need none.
        app.add_middleware(CORSMiddleware, allow_origins=origins,
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["Content-Type"])
    app.add_middleware(TrustedProxy, settings=settings)
    # Added last, so outermost: a foreign Host is refused before anything else runs.
    app.add_middleware(HostAllowList, settings=settings)
    app.include_router(api_router)
    if ui_dir := settings.ui_dir if settings else ui_dir_from_env():
        app.router.routes.append(ui_mount(ui_dir))  # last: every API route wins
    return app


# Before the first worker thread starts: the arena limit binds arenas created from now on.
tune_malloc()
app = create_app()

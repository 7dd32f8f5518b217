"""The agent server: FastAPI app factory and the module-level `app` for uvicorn.

    uvicorn app.main:app            # settings from the environment
    create_app(settings, executor)  # tests: explicit settings, optionally an executor
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Path, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, StringConstraints

from app.capacity import Capacity, CapacityExceeded
from app.catalog import CatalogError, load_catalog
from app.chat import Chat
from app.executors.base import Executor, ExecutorUnavailable
from app.metrics import CONTENT_TYPE_LATEST, Metrics
from app.planners.base import make_planner
from app.planners.offline import canonical_prompts
from app.runs import Runs
from app.settings import Settings, SettingsError, load_settings
from app.storage import Storage

log = logging.getLogger("corral")

ID_PATTERN = r"^[0-9a-f]{32}$"
ConversationId = Annotated[str, Path(pattern=ID_PATTERN)]
Question = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ChatRequest(BaseModel):
    question: Question
    conversation_id: Annotated[str | None, Field(pattern=ID_PATTERN)] = None
    dataset: Annotated[str | None, Field(min_length=1, max_length=64)] = None


class QueryRequest(BaseModel):
    language: Literal["sql", "python"]
    code: Annotated[str, Field(min_length=1, max_length=100000)]
    max_rows: Annotated[int | None, Field(ge=1)] = None


def _refuse_to_start(message: str) -> None:
    """A bad configuration stops the process with the message only, no traceback."""
    print(f"corral: {message}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(2)  # SystemExit would be caught and printed with a traceback by uvicorn


def _field_error(field: str, message: str, value: Any) -> HTTPException:
    """A 422 in FastAPI's validation shape, for checks that depend on the settings."""
    return HTTPException(
        422, [{"loc": ["body", field], "msg": message, "type": "value_error", "input": value}]
    )


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("corral").setLevel(level)


def _make_executor(settings: Settings) -> Executor:
    from app.executors import make_executor

    return make_executor(settings)


def create_app(settings: Settings | None = None, executor: Executor | None = None) -> FastAPI:
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal settings, executor
        if settings is None:
            try:
                settings = load_settings()
            except SettingsError as exc:
                _refuse_to_start(str(exc))
        assert settings is not None
        _configure_logging(settings.log_level)
        try:
            catalog = load_catalog(settings.datasets_path)
        except CatalogError as exc:
            _refuse_to_start(str(exc))
        if settings.execution_mode == "unsafe-local":
            log.warning("EXECUTION_MODE=unsafe-local: generated code runs with NO sandbox, "
                        "as this server's user. Use it only on a throw-away machine.")
        own_executor = executor is None
        if executor is None:
            executor = _make_executor(settings)
        executor.use_metrics(metrics)
        try:
            removed = await executor.sweep()
            log.info("start-up sweep (%s): removed %d leftover sandbox(es)", executor.name, removed)
        except Exception as exc:  # noqa: BLE001 - backend down: /readyz says so; keep serving
            log.warning("start-up sweep (%s) failed: %s", executor.name, exc)
        storage = Storage(settings.sqlalchemy_url)
        try:
            await storage.open()
        except Exception as exc:  # noqa: BLE001 - any failure here means "cannot start"
            first = (str(exc).splitlines() or [""])[0][:300]
            if settings.database_url in first:  # never echo a password
                first = first.replace(settings.database_url, "<DATABASE_URL>")
            _refuse_to_start(
                f"DATABASE_URL: cannot open the database ({type(exc).__name__}: {first}); "
                "check that it is reachable and the user may create tables"
            )
        planner = make_planner(settings)
        capacity = Capacity(settings.max_sandboxes, settings.run_timeout_ms, metrics)
        runs = Runs(settings, catalog, executor, capacity, storage, metrics)
        app.state.settings = settings
        app.state.catalog = catalog
        app.state.executor = executor
        app.state.storage = storage
        app.state.runs = runs
        app.state.chat = Chat(planner, catalog, runs, storage, metrics)
        log.info(
            "agent server ready: executor=%s planner=%s datasets=%s max_sandboxes=%d",
            executor.name, planner.name, ",".join(catalog.names), settings.max_sandboxes,
        )
        try:
            yield
        finally:
            await planner.close()
            if own_executor:
                await executor.close()
            await storage.close()

    app = FastAPI(title="Corral agent server", version="0.1.0", lifespan=lifespan)
    app.state.metrics = metrics
    origins = settings.cors_origins if settings is not None else os.environ.get(
        "CORS_ORIGINS", "")
    if origins.strip():
        # Only for a UI served from another origin; the bundled UI and nginx need none.
        app.add_middleware(
            CORSMiddleware, allow_origins=[o.strip() for o in origins.split(",") if o.strip()],
            allow_methods=["GET", "POST", "DELETE"], allow_headers=["Content-Type"],
        )

    @app.exception_handler(CapacityExceeded)
    async def _capacity(_: Request, exc: CapacityExceeded) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc)}, status_code=429,
            headers={"Retry-After": str(exc.retry_after_s)},
        )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # /api/readyz: the same check, reachable through the UI's /api/ proxy.
    @app.get("/readyz")
    @app.get("/api/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        ex: Executor = request.app.state.executor
        try:
            await ex.check()
            await request.app.state.storage.check()
        except ExecutorUnavailable as exc:
            body = {"status": "unavailable", "executor": ex.name, "detail": str(exc)}
            return JSONResponse(body, status_code=503)
        except Exception as exc:  # noqa: BLE001 - any database failure means "not ready"
            detail = f"the database is unreachable ({type(exc).__name__}); check DATABASE_URL"
            body = {"status": "unavailable", "executor": ex.name, "detail": detail}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "ready", "executor": ex.name})

    @app.get("/metrics")
    async def metrics_endpoint() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/datasets")
    async def datasets(request: Request) -> list[dict[str, Any]]:
        return request.app.state.catalog.public()

    @app.get("/api/suggestions")
    async def suggestions(request: Request) -> list[dict[str, str]]:
        return canonical_prompts(request.app.state.catalog)

    @app.post("/api/chat")
    async def chat(body: ChatRequest, request: Request) -> dict[str, Any]:
        state = request.app.state
        if body.dataset is not None and state.catalog.get(body.dataset) is None:
            raise _field_error(
                "dataset",
                f"unknown dataset; expected one of {', '.join(state.catalog.names)}",
                body.dataset,
            )
        if body.conversation_id and not await state.storage.conversation_exists(
            body.conversation_id
        ):
            raise HTTPException(
                404, f"Conversation {body.conversation_id} does not exist; omit "
                "conversation_id to start a new one."
            )
        return await state.chat.ask(body.question, body.conversation_id, body.dataset)

    @app.get("/api/conversations")
    async def conversations(request: Request) -> list[dict[str, Any]]:
        return await request.app.state.storage.list_conversations()

    @app.get("/api/conversations/{conversation_id}")
    async def conversation(conversation_id: ConversationId, request: Request) -> dict[str, Any]:
        conv = await request.app.state.storage.get_conversation(conversation_id)
        if conv is None:
            raise HTTPException(404, f"Conversation {conversation_id} does not exist.")
        return conv

    @app.delete("/api/conversations/{conversation_id}", status_code=204)
    async def delete_conversation(conversation_id: ConversationId, request: Request) -> Response:
        if not await request.app.state.storage.delete_conversation(conversation_id):
            raise HTTPException(404, f"Conversation {conversation_id} does not exist.")
        return Response(status_code=204)

    @app.post("/api/query")
    async def query(body: QueryRequest, request: Request) -> dict[str, Any]:
        state = request.app.state
        limit = state.settings.max_rows
        if body.max_rows is not None and body.max_rows > limit:
            raise _field_error(
                "max_rows", f"Input should be less than or equal to {limit} (MAX_ROWS)",
                body.max_rows,
            )
        return await state.runs.run(body.language, body.code, body.max_rows)

    ui_dir = settings.ui_dir if settings is not None else _ui_dir_from_env()
    if ui_dir is not None:
        # Registered last so every API route above wins over the static files.
        app.mount("/", UIFiles(directory=ui_dir, html=True), name="ui")
    return app


class UIFiles(StaticFiles):
    """The UI's static files, minus what app/ui keeps for building its own container."""

    NOT_SERVED = ("Dockerfile", "container")

    def lookup_path(self, path: str) -> tuple[str, Any]:
        if path.split("/", 1)[0] in self.NOT_SERVED:
            return "", None
        return super().lookup_path(path)


def _ui_dir_from_env() -> Any:
    """The module-level app is built before the lifespan loads the settings, so the
    static mount reads UI_DIR itself; a bad value is still refused by load_settings."""
    value = os.environ.get("UI_DIR", "")
    if value and os.path.isfile(os.path.join(value, "index.html")):
        return value
    return None


app = create_app()

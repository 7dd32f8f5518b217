"""Liveness and readiness probes (Kubernetes, compose healthchecks, the smoke test)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import ExecutorDep, StoreDep
from app.executors.base import ExecutorUnavailable
from app.models import Health, Ready, Unavailable

router = APIRouter(tags=["probes"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """200 while the process serves; it checks nothing else."""
    return Health(status="ok")


_NOT_READY = {503: {"model": Unavailable, "description": "The sandbox backend or the "
                    "database is down; `detail` says which and how to bring it back."}}


# /api/readyz: the same check, reachable through the UI's /api/ proxy.
@router.get("/readyz", response_model=Ready, responses=_NOT_READY, response_model_exclude_none=True)
@router.get("/api/readyz", response_model=Ready, responses=_NOT_READY,
            response_model_exclude_none=True, include_in_schema=False)
async def readyz(executor: ExecutorDep, storage: StoreDep) -> Ready | JSONResponse:
    """Ready when the sandbox backend answers and the database accepts a query."""
    try:
        await executor.check()
        await storage.check()
    except ExecutorUnavailable as exc:
        return _unavailable(executor.name, str(exc))
    except Exception as exc:  # noqa: BLE001 - any database failure means "not ready"
        detail = f"the database is unreachable ({type(exc).__name__}); check DATABASE_URL"
        return _unavailable(executor.name, detail)
    # An operator's explicit opt-in to weaker isolation: say so.
    weaker = f"weaker than intended: {executor.weaker}" if executor.weaker else None
    return Ready(status="ready", executor=executor.name, isolation=weaker)


def _unavailable(executor: str, detail: str) -> JSONResponse:
    body = Unavailable(status="unavailable", executor=executor, detail=detail)
    return JSONResponse(body.model_dump(), status_code=503)

"""The direct path: run SQL or Python as written (power users, the smoke test). The
guard still applies, and runs are capped and audited like the chat's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import CurrentUser, RunsDep, SettingsDep, UserLimitsDep, VisibleCatalogDep
from app.api.responses import errors
from app.api.validation import field_error
from app.models import QueryRequest, RunResult

router = APIRouter(prefix="/api", tags=["query"])


@router.post("/query", response_model=RunResult, response_model_exclude_unset=True,
             responses=errors(400, 401, 403, 413, 422, 429, 503))
async def query(body: QueryRequest, settings: SettingsDep, runs: RunsDep,
                user: CurrentUser, limits: UserLimitsDep,
                catalog: VisibleCatalogDep) -> dict[str, Any]:
    """Run `code`; the answer is the runner's result, whatever its status."""
    limit = settings.max_rows
    if body.max_rows is not None and body.max_rows > limit:
        raise field_error(
            "max_rows", f"Input should be less than or equal to {limit} (MAX_ROWS)",
            body.max_rows,
        )
    with limits.run(user.user_id or user.username):  # per-user limits (app/user_limits.py)
        return await runs.run(body.language, body.code, body.max_rows, user_id=user.user_id,
                              catalog=catalog)

"""One chat turn: the question is planned, guarded, run in a sandbox and stored."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from app.api.deps import ChatDep, CurrentUser, StoreDep, UserLimitsDep, VisibleCatalogDep
from app.api.responses import errors
from app.api.validation import field_error
from app.models import Answer, ChatRequest
from app.storage import ConversationGone

router = APIRouter(prefix="/api", tags=["chat"])


@router.post("/chat", response_model=Answer, response_model_exclude_unset=True,
             responses=errors(400, 401, 403, 404, 413, 422, 429, 503))
async def chat(body: ChatRequest, catalog: VisibleCatalogDep, storage: StoreDep,
               turn: ChatDep, user: CurrentUser, limits: UserLimitsDep) -> dict[str, Any]:
    """Answer one question; a question the planner cannot plan is still an answer
    (`plan` and `result` null, with suggestions). A follow-up goes only to one's own
    conversation: another user's id is 404, as if it did not exist."""
    if body.dataset is not None and catalog.get(body.dataset) is None:
        raise field_error(
            "dataset", f"unknown dataset; expected one of {', '.join(catalog.names)}",
            body.dataset,
        )
    if body.conversation_id and not await storage.conversation_exists(
        body.conversation_id, user_id=user.user_id
    ):
        raise HTTPException(
            404, f"Conversation {body.conversation_id} does not exist; omit "
            "conversation_id to start a new one."
        )
    try:
        with limits.run(user.user_id or user.username):
            return await turn.ask(body.question, body.conversation_id, body.dataset,
                                  user_id=user.user_id, catalog=catalog)
    except ConversationGone:
        raise HTTPException(
            404, f"Conversation {body.conversation_id} was deleted while this question was "
            "answered; omit conversation_id to start a new one."
        ) from None

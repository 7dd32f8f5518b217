"""Stored conversations: list (paged, newest first), read one, delete one, run an
answer's edited code again in one; each user sees only their own (another user's id
answers 404, so ids do not leak)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from app.api.deps import ChatDep, CurrentUser, StoreDep, UserLimitsDep, VisibleCatalogDep
from app.api.responses import errors
from app.models import ID_PATTERN, Answer, Conversation, ConversationSummary, EditedRun
from app.storage import ConversationGone

router = APIRouter(prefix="/api/conversations", tags=["conversations"])

ConversationId = Annotated[str, Path(pattern=ID_PATTERN)]
PAGE_DEFAULT = 100
PAGE_MAX = 500
# Far beyond any real history, and small enough for every database's OFFSET.
OFFSET_MAX = 1_000_000_000

_PAGE_HEADERS = {
    "X-Total-Count": {"description": "How many conversations there are in all.",
                      "schema": {"type": "integer", "minimum": 0}},
    "Link": {"description": 'RFC 8288 `<...>; rel="next"` to the next page, when there is one.',
             "schema": {"type": "string"}},
}


@router.get("", response_model=list[ConversationSummary],
            responses={200: {"headers": _PAGE_HEADERS}, **errors(401, 403, 422, 503)})
async def list_conversations(
    request: Request, response: Response, storage: StoreDep, user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX,
                                description="Page size.")] = PAGE_DEFAULT,
    offset: Annotated[int, Query(ge=0, le=OFFSET_MAX,
                                 description="Conversations to skip.")] = 0,
) -> list[dict[str, Any]]:
    """Newest first (by last activity); one page of `limit` from `offset`."""
    page = await storage.list_conversations(limit=limit, offset=offset, user_id=user.user_id)
    total = await storage.count_conversations(user_id=user.user_id)
    page_headers(request, response, limit, offset, len(page), total)
    return page


def page_headers(request: Request, response: Response, limit: int, offset: int, count: int,
                 total: int) -> None:
    """X-Total-Count, and Link to the next page when there is one."""
    response.headers["X-Total-Count"] = str(total)
    if offset + count < total:
        url = request.url.include_query_params(limit=limit, offset=offset + count)
        response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'


@router.get("/{conversation_id}", response_model=Conversation, response_model_exclude_unset=True,
            responses=errors(401, 403, 404, 422, 503))
async def get_conversation(conversation_id: ConversationId, storage: StoreDep,
                           user: CurrentUser) -> dict[str, Any]:
    """The conversation with every answer, oldest first."""
    conv = await storage.get_conversation(conversation_id, user_id=user.user_id)
    if conv is None:
        raise HTTPException(404, f"Conversation {conversation_id} does not exist.")
    return conv


@router.delete("/{conversation_id}", status_code=204, response_class=Response,
               responses=errors(401, 403, 404, 422, 503))
async def delete_conversation(conversation_id: ConversationId, storage: StoreDep,
                              user: CurrentUser) -> Response:
    """Delete it and its answers; the run audit keeps its rows."""
    if not await storage.delete_conversation(conversation_id, user_id=user.user_id):
        raise HTTPException(404, f"Conversation {conversation_id} does not exist.")
    return Response(status_code=204)


@router.post("/{conversation_id}/rerun", response_model=Answer,
             response_model_exclude_unset=True,
             responses=errors(400, 401, 403, 404, 413, 422, 429, 503))
async def rerun(conversation_id: ConversationId, body: EditedRun, storage: StoreDep,
                turn: ChatDep, user: CurrentUser, limits: UserLimitsDep,
                catalog: VisibleCatalogDep) -> dict[str, Any]:
    """Run an answer's code as the person edited it, through the same guard (one
    read-only query over the datasets' tables), limits and sandbox as a question; the
    new answer is added to the conversation and its run audited as theirs. A refusal
    is an answer too: `result.status` is `rejected` and its message says why."""
    conv = await storage.get_conversation(conversation_id, user_id=user.user_id)
    if conv is None:
        raise HTTPException(404, f"Conversation {conversation_id} does not exist.")
    edited = None
    if body.message_id is not None:
        edited = next((m["question"] for m in conv["messages"] if m["id"] == body.message_id),
                      None)
        if edited is None:  # like an unknown conversation: 404, not a bad body
            raise HTTPException(404, f"Answer {body.message_id} is not in conversation "
                                f"{conversation_id}; omit message_id for code of your own.")
    try:
        with limits.run(user.user_id or user.username):
            return await turn.rerun(body.language, body.code, conversation_id, edited,
                                    user_id=user.user_id, catalog=catalog)
    except ConversationGone:
        raise HTTPException(404, f"Conversation {conversation_id} was deleted while the "
                            "code ran.") from None

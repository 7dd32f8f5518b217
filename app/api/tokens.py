"""/api/tokens: API tokens for automation. Anyone signed in manages their own; admins
everyone's. The secret is returned once, at creation. A query-scope token can neither
create nor revoke tokens."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response

from app.api.deps import CurrentUser, ManagingUser, SettingsDep, StoreDep
from app.api.responses import errors
from app.api.validation import field_error
from app.auth import tokens, users
from app.auth.identity import Identity
from app.auth.users import UserError
from app.models import ID_PATTERN, CreatedToken, TokenOut, TokenRequest

router = APIRouter(prefix="/api/tokens", tags=["tokens"])

TokenId = Annotated[str, Path(pattern=ID_PATTERN)]
NOT_FOUND = "Token {} does not exist."


def _out(info: tokens.TokenInfo) -> dict[str, Any]:
    return dataclasses.asdict(info)


@router.get("", response_model=list[TokenOut], responses=errors(401, 403, 422, 503))
async def list_tokens(
    identity: CurrentUser, storage: StoreDep,
    all: Annotated[bool, Query(description="Admins: every user's tokens.")] = False,
) -> list[dict[str, Any]]:
    """Your tokens (revoked and expired ones too), newest first; never their secrets."""
    if all and not identity.is_admin:
        raise HTTPException(403, "admin role required")
    owner = None if all else identity.user_id
    if owner is None and not all:  # AUTH_MODE=none: no account, no tokens of its own
        return []
    return [_out(t) for t in await asyncio.to_thread(tokens.list_tokens, storage.engine, owner)]


def _owner(engine: Any, identity: Identity, username: str | None) -> users.User:
    if username is not None and username != identity.username:
        if not identity.is_admin:
            raise HTTPException(403, "admin role required to create a token for another user")
        user = users.find(engine, username)
        if user is None:
            raise HTTPException(404, f"User {username!r} does not exist.")
        return user
    user = users.get(engine, identity.user_id) if identity.user_id else None
    if user is None:
        raise field_error("username", "AUTH_MODE=none has no accounts; name a user", username)
    return user


@router.post("", status_code=201, response_model=CreatedToken,
             responses=errors(400, 401, 403, 404, 413, 422, 503))
async def create_token(body: TokenRequest, identity: ManagingUser, settings: SettingsDep,
                       storage: StoreDep) -> dict[str, Any]:
    """A new token; `token` in the answer is its secret, shown this once only. An
    admin-scope token needs an admin user; lifetime at most API_TOKEN_MAX_DAYS."""

    def work() -> tuple[str, tokens.TokenInfo]:
        owner = _owner(storage.engine, identity, body.username)
        return tokens.create(storage.engine, owner, body.name, body.scope,
                             body.expires_in_days, settings.api_token_max_days)

    try:
        secret, info = await asyncio.to_thread(work)
    except UserError as exc:
        value = getattr(body, exc.field, None)
        raise field_error(exc.field, exc.message, value) from None
    return {**_out(info), "token": secret}


@router.delete("/{token_id}", status_code=204, response_class=Response,
               responses=errors(401, 403, 404, 422, 503))
async def revoke_token(token_id: TokenId, identity: ManagingUser,
                       storage: StoreDep) -> Response:
    """Revoke one of your tokens (admins: anyone's); it is refused from then on."""
    info = await asyncio.to_thread(tokens.get_token, storage.engine, token_id)
    if info is None or (info.user_id != identity.user_id and not identity.is_admin):
        raise HTTPException(404, NOT_FOUND.format(token_id))
    await asyncio.to_thread(tokens.revoke, storage.engine, token_id)
    return Response(status_code=204)

"""/api/admin/users: admins list, add (local accounts) and change users: role, disabled,
password. Disabling a user or resetting their password ends their sessions; their
tokens stop working while they are disabled."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from sqlalchemy.engine import Engine

from app.api.deps import AdminUser, StoreDep
from app.api.responses import errors
from app.api.validation import field_error
from app.auth import sessions, users
from app.auth.users import UserError
from app.models import ID_PATTERN, UserCreate, UserOut, UserPatch

router = APIRouter(prefix="/api/admin/users", tags=["users"])

UserId = Annotated[str, Path(pattern=ID_PATTERN)]
LAST_ADMIN = "This would leave no enabled admin; make another user admin first"


def _out(user: users.User) -> dict[str, Any]:
    return dataclasses.asdict(user)


@router.get("", response_model=list[UserOut], responses=errors(401, 403, 503))
async def list_users(_: AdminUser, storage: StoreDep) -> list[dict[str, Any]]:
    """Every user, by name."""
    return [_out(u) for u in await asyncio.to_thread(users.list_all, storage.engine)]


@router.post("", status_code=201, response_model=UserOut,
             responses=errors(400, 401, 403, 409, 413, 422, 503))
async def add_user(body: UserCreate, _: AdminUser, storage: StoreDep) -> dict[str, Any]:
    """Add a local account (409 when the name is taken, in any letter case)."""
    try:
        user = await asyncio.to_thread(users.create, storage.engine, body.username,
                                       body.role, body.password)
    except users.UsernameTaken as exc:
        raise HTTPException(409, str(exc)) from None
    except UserError as exc:
        raise field_error(exc.field, exc.message, getattr(body, exc.field, None)) from None
    return _out(user)


def _change(engine: Engine, user_id: str, body: UserPatch) -> users.User:
    try:
        # The last-admin check and the change are one database transaction that locks
        # the admins' rows (app/auth/users.py): safe across requests and replicas.
        changed = users.update(engine, user_id, keep_an_admin=True,
                               **body.model_dump(exclude_none=True))
    except users.LastAdmin:
        raise HTTPException(409, LAST_ADMIN) from None
    if changed is None:
        raise HTTPException(404, f"User {user_id} does not exist.")
    if body.disabled or body.password is not None:
        sessions.delete_for_user(engine, user_id)
    return changed


@router.patch("/{user_id}", response_model=UserOut,
              responses=errors(400, 401, 403, 404, 409, 413, 422, 503))
async def change_user(user_id: UserId, body: UserPatch, _: AdminUser,
                      storage: StoreDep) -> dict[str, Any]:
    """Change role, disabled and/or password (fields left out stay as they are)."""
    try:
        return _out(await asyncio.to_thread(_change, storage.engine, user_id, body))
    except UserError as exc:
        raise field_error(exc.field, exc.message, getattr(body, exc.field, None)) from None

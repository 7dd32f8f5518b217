"""The HTTP API: one router per resource; `api_router` includes them all."""

from __future__ import annotations

from fastapi import APIRouter

from app.api import (
    admin,
    auth,
    chat,
    conversations,
    datasets,
    oidc,
    openapi,
    probes,
    query,
    tokens,
    users,
)

api_router = APIRouter()
for _module in (probes, admin, auth, oidc, tokens, users, datasets, chat, conversations,
                query, openapi):
    api_router.include_router(_module.router)

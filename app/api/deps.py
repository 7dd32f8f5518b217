"""Typed dependencies shared by the routers: each names one service of app/services.py,
so a route says what it uses in its signature instead of reading `request.app.state`;
`CurrentUser` and `AdminUser` name who is asking and what they may do."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from app.api.csrf import check_csrf
from app.auth.identity import Identity, presented_credentials, resolve
from app.catalog import Catalog
from app.chat import Chat
from app.executors.base import Executor
from app.metrics import Metrics
from app.runs import Runs
from app.services import Services
from app.settings import Settings
from app.storage import Storage
from app.user_limits import UserLimits
from app.visibility import visible_catalog


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_metrics(request: Request) -> Metrics:
    # Built with the app (before start-up), so it is not one of the services.
    return request.app.state.metrics


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


def get_catalog(services: ServicesDep) -> Catalog:
    return services.catalog


def get_storage(services: ServicesDep) -> Storage:
    return services.storage


def get_executor(services: ServicesDep) -> Executor:
    return services.executor


def get_runs(services: ServicesDep) -> Runs:
    return services.runs


def get_chat(services: ServicesDep) -> Chat:
    return services.chat


def get_user_limits(services: ServicesDep) -> UserLimits:
    return services.user_limits


SettingsDep = Annotated[Settings, Depends(get_settings)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
StoreDep = Annotated[Storage, Depends(get_storage)]
ExecutorDep = Annotated[Executor, Depends(get_executor)]
RunsDep = Annotated[Runs, Depends(get_runs)]
ChatDep = Annotated[Chat, Depends(get_chat)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
UserLimitsDep = Annotated[UserLimits, Depends(get_user_limits)]


SIGN_IN_FIRST = "Sign in first"
INVALID_CREDENTIALS = "Invalid or expired credentials"
ADMIN_REQUIRED = "admin role required"


async def current_user(request: Request, settings: SettingsDep) -> Identity:
    """The signed-in identity; 401 without (valid) credentials, 403 for a cookie request
    that fails the CSRF or Origin check (app/api/csrf.py)."""
    identity = await resolve(request)
    if identity is None:
        if settings.auth_mode == "none":
            raise HTTPException(403, "AUTH_MODE=none serves only this machine (loopback); "
                                     "sign-in is off, so no other client may use it")
        detail = INVALID_CREDENTIALS if presented_credentials(request) else SIGN_IN_FIRST
        raise HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})
    check_csrf(request, identity)
    request.state.identity = identity
    return identity


CurrentUser = Annotated[Identity, Depends(current_user)]


def get_visible_catalog(catalog: CatalogDep, identity: CurrentUser) -> Catalog:
    """The datasets this user may see (the manifest's visible_to): the only catalog a
    route that lists, plans or runs anything for them may use."""
    return visible_catalog(catalog, identity.role, identity.groups)


VisibleCatalogDep = Annotated[Catalog, Depends(get_visible_catalog)]


def require_admin_scope(identity: CurrentUser) -> Identity:
    """An admin-scope token or a session (or AUTH_MODE=none): what token and user
    management need, whatever the role."""
    if identity.token_scope == "query":
        raise HTTPException(403, "token scope 'query' does not allow this; needs 'admin'")
    return identity


ManagingUser = Annotated[Identity, Depends(require_admin_scope)]


def require_admin(identity: ManagingUser) -> Identity:
    if not identity.is_admin:
        raise HTTPException(403, ADMIN_REQUIRED)
    return identity


AdminUser = Annotated[Identity, Depends(require_admin)]

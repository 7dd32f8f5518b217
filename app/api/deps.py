"""Typed dependencies shared by the routers: each names one service of app/services.py,
so a route says what it uses in its signature instead of reading `request.app.state`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.catalog import Catalog
from app.chat import Chat
from app.executors.base import Executor
from app.metrics import Metrics
from app.runs import Runs
from app.services import Services
from app.settings import Settings
from app.storage import Storage


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


SettingsDep = Annotated[Settings, Depends(get_settings)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
StoreDep = Annotated[Storage, Depends(get_storage)]
ExecutorDep = Annotated[Executor, Depends(get_executor)]
RunsDep = Annotated[Runs, Depends(get_runs)]
ChatDep = Annotated[Chat, Depends(get_chat)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]

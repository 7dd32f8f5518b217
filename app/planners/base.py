"""The planner interface: what every planner returns (Plan or CannotPlan) and answers."""

from __future__ import annotations

import abc
from dataclasses import asdict, dataclass, field
from typing import Any

from app.catalog import Catalog


@dataclass(frozen=True)
class Plan:
    language: str  # "sql" | "python"
    code: str
    explanation: str
    planner: str  # "offline" | "llm"
    dataset: str | None = None  # the dataset the plan is mostly about, for suggestions

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("dataset")
        return data


@dataclass(frozen=True)
class CannotPlan:
    message: str
    suggestions: list[str] = field(default_factory=list)


class Planner(abc.ABC):
    name = "abstract"

    @abc.abstractmethod
    async def plan(
        self, question: str, catalog: Catalog, history: list[dict[str, Any]],
        dataset: str | None = None,
    ) -> Plan | CannotPlan:
        """Plan one question. `history` holds earlier answers of the conversation
        (oldest first); `dataset` is the dataset the person picked, if any."""

    async def revise(
        self, question: str, catalog: Catalog, history: list[dict[str, Any]],
        previous: Plan, error: str, dataset: str | None = None,
    ) -> Plan | CannotPlan | None:
        """A second attempt after `previous` failed with `error`; None = no retry."""
        return None

    async def close(self) -> None:
        return None


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


def reading_of(plan: dict[str, Any] | None) -> str | None:
    """What the planner understood, in plain words, for an answer's plan (None when
    nothing was planned). The offline planner writes its explanation from the plan
    itself (the filters, groups and measures it used, never the question's words);
    an LLM's explanation is its own account, and the reading says so."""
    if not plan or not plan.get("explanation"):
        return None
    text = str(plan["explanation"]).strip()
    if plan.get("planner") == "offline":
        return text
    return f"In the {plan.get('planner', 'other')} planner's own words: {text}"

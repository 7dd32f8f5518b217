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
    # The question as the planner read it: a follow-up ("and for 1952?") written out
    # against the previous one. Stored with the plan, so the next follow-up builds on it.
    asked: str | None = None
    # A plan another planner wrote (an LLM's): its reading written from the code, and
    # the question's values, columns and numbers it does not use (app/planners/coverage.py).
    reading: str | None = None
    unread: tuple[str, ...] = ()

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("dataset")
        for key in ("asked", "reading", "unread"):  # stored only when there is one
            if not data[key]:
                data.pop(key)
        if "unread" in data:
            data["unread"] = list(data["unread"])
        return data


@dataclass(frozen=True)
class Choice:
    label: str  # what the choice means, as the data writes it: "species = 'Gentoo'"
    question: str  # the question asked when it is chosen


@dataclass(frozen=True)
class Clarify:
    """A question back instead of a guess: "Did you mean species = 'Gentoo'?"."""

    question: str
    choices: list[Choice]

    def public(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CannotPlan:
    message: str
    suggestions: list[str] = field(default_factory=list)
    clarify: Clarify | None = None  # when the planner can ask back with choices


class Planner(abc.ABC):
    name = "abstract"

    @abc.abstractmethod
    async def plan(
        self, question: str, catalog: Catalog, history: list[dict[str, Any]],
        dataset: str | None = None,
    ) -> Plan | CannotPlan:
        """Plan one question. `history` holds earlier answers of the conversation
        (oldest first); `dataset` is the dataset the person picked, if any."""

    def follow_ups(
        self, question: str, plan: Plan, catalog: Catalog, history: list[dict[str, Any]],
    ) -> list[str]:
        """Questions to offer after `plan` answered `question`, each one this planner
        can answer in the conversation that now ends with it; none by default."""
        return []

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
    if plan.get("planner") in ("offline", "edited"):  # edited: the person's own code
        return text
    own = f"In the {plan.get('planner', 'other')} planner's own words: {text}"
    if plan.get("reading"):  # written from its code (app/planners/coverage.py)
        own = f"{plan['reading']} ({own[0].lower()}{own[1:]})"
    unread = unread_of(plan)
    if unread:
        words = ", ".join(f"'{w}'" for w in unread)
        own += (f" This plan does not use {words} of the question: check the answer "
                "before you trust it.")
    return own


def unread_of(plan: dict[str, Any] | None) -> list[str]:
    """The question's words a plan does not use (only plans read from their code)."""
    return [str(w) for w in (plan or {}).get("unread") or []]

"""The offline planner: deterministic, schema-aware question -> DuckDB SQL, no network.

It reads the question as a short sequence of tokens (column mentions, values found
in the data, numbers, words) and recognises the common analytic shapes:

    counts                 "how many flights left JFK in January?"
    aggregates             "average body mass of Adelie penguins", "total population ..."
    group by one or two    "... by species", "per carrier and origin", "for each continent"
    filters on data values "Adelie", "Europe", "JFK", "2007", "in March", "over 60 minutes"
    top / bottom N         "top 5 destinations by number of flights"
    ordering               "... highest first", "which continent had the highest ..."
    distinct values        "which species ...", "list the continents"
    per year or month      "number of flights per month"
    one join               "average arrival delay by airline name" (along a declared key)

Everything it knows about a dataset comes from the manifest (vocabulary.py); the
modules follow the path of a question: tokens -> reading (rules) -> sql. Anything
else gets a CannotPlan with questions it can answer for that dataset.
"""

from __future__ import annotations

import re
from typing import Any

from app.catalog import Catalog
from app.planners.base import CannotPlan, Clarify, Plan, Planner
from app.planners.offline.follow_ups import OFFERED, REFERS, candidates, previous_question, resolve
from app.planners.offline.honesty import ask_back, clarify, plural_values
from app.planners.offline.reading import read
from app.planners.offline.sql import plan_sql
from app.planners.offline.tokens import tokenize
from app.planners.offline.vocabulary import vocabulary
from app.planners.suggestions import suggestions_for

__all__ = ["OfflinePlanner", "choose_dataset", "follow_ups", "plan_question"]

_SQL_START = re.compile(r"^\s*(select|with)\s+\S.*\b(from|select)\b", re.IGNORECASE | re.DOTALL)


def _score(question: str, low: str, catalog: Catalog, name: str) -> float:
    v = vocabulary(catalog.datasets[name])
    score = 10.0 if any(re.search(r"(?<![\w])" + re.escape(n) + r"(?![\w])", low)
                        for n in v.nouns) else 0.0
    for t in tokenize(question, v):
        if t.kind == "val":
            score += 3
        elif t.kind == "col" and t.column and t.column.lower() not in ("year", "month"):
            score += 0.5 if t.weak else 2
    return score


def choose_dataset(question: str, catalog: Catalog, history: list[dict[str, Any]]) -> str | None:
    """The dataset whose words the question uses most; ties go to the one the
    conversation was about."""
    low = question.lower()
    scores = {name: _score(question, low, catalog, name) for name in catalog.names}
    best = max(scores.values(), default=0)
    if best <= 0:
        return _dataset_from_history(history, catalog)
    winners = [n for n, s in scores.items() if s == best]
    if len(winners) > 1:
        previous = _dataset_from_history(history, catalog)
        if previous in winners:
            return previous
    return winners[0]


def _dataset_from_history(history: list[dict[str, Any]], catalog: Catalog) -> str | None:
    for answer in reversed(history):
        code = ((answer or {}).get("plan") or {}).get("code") or ""
        m = re.search(r"\bFROM\s+\"?(\w+)", code, re.IGNORECASE)
        owner = catalog.owner(m.group(1)) if m else None
        if owner:
            return owner.name
    return None


def _answerable(asked: Clarify | None, catalog: Catalog, history: list[dict[str, Any]] | None,
                dataset: str | None) -> Clarify | None:
    """The question back with only the choices that get an answer, or None."""
    if asked is None:
        return None
    choices = [c for c in asked.choices
               if isinstance(plan_question(c.question, catalog, history, dataset, False), Plan)]
    if not choices:
        return None
    if len(choices) == 1 and len(asked.choices) > 1:
        return Clarify(f"Did you mean {choices[0].label}?", choices)
    return Clarify(asked.question, choices)


def plan_question(
    question: str, catalog: Catalog, history: list[dict[str, Any]] | None = None,
    dataset: str | None = None, check: bool = True,
) -> Plan | CannotPlan:
    """The whole offline planner as one pure function (what the tests call). `check`:
    offer a question back only with choices that are answered (False when checking)."""
    if _SQL_START.match(question):
        # SQL typed into the chat runs as written (the guard still checks it).
        used = _dataset_from_history([{"plan": {"code": question}}], catalog)
        return Plan("sql", question.strip(), "Your SQL, run as written.", "offline", used)
    resolved = _follow_up(question, catalog, history or [], dataset)
    if resolved is not None:
        return resolved
    name = dataset or choose_dataset(question, catalog, history or [])
    ds = catalog.get(name) if name else None
    if ds is None:
        return CannotPlan(
            "I could not tell which dataset this is about. I know "
            + ", ".join(catalog.names) + "; name one, or try one of these.",
            suggestions_for(catalog, None),
        )
    v = vocabulary(ds)
    reading = read(question, v)
    plural = plural_values(question, reading.unread, v) if reading.unread else None
    if plural:  # "gentoos" is the value Gentoo: read the question as the data writes it
        reading = read(plural, v)
    if reading.unread:  # the honesty rule: no answer to a question not fully read
        message, fixed = ask_back(question, reading.unread, v)
        asked = clarify(question, reading.unread, v) if check else None
        return CannotPlan(message, fixed + suggestions_for(catalog, ds.name),
                          _answerable(asked, catalog, history, dataset))
    try:
        sql, explanation = plan_sql(reading)
    except ValueError:
        return CannotPlan(
            f"I could not turn that into a query over {ds.name} (columns: "
            + ", ".join(c.name for c in ds.columns)
            + "). The built-in planner answers counts, averages, totals, minimums and "
            "maximums, grouped and filtered; try one of these.",
            suggestions_for(catalog, ds.name),
        )
    return Plan("sql", sql, explanation, "offline", ds.name, question)


def _follow_up(question: str, catalog: Catalog, history: list[dict[str, Any]],
               dataset: str | None) -> Plan | None:
    """The plan of a follow-up ("and for 1952?") read against the previous question;
    None when the question is not one or does not plan that way."""
    prev = previous_question(history) if REFERS.match(question) else None
    name = dataset or (_dataset_from_history(history, catalog) if prev else None)
    ds = catalog.get(name) if name else None
    if prev is None or ds is None:
        return None
    written = resolve(question, prev, vocabulary(ds))
    planned = plan_question(written, catalog, [], ds.name, False) if written else None
    return planned if isinstance(planned, Plan) else None


def follow_ups(question: str, plan: Plan, catalog: Catalog,
               history: list[dict[str, Any]]) -> list[str]:
    """Up to three follow-ups to `plan`, each one planned (not refused) in the
    conversation that now ends with it, and each a different query."""
    ds = catalog.get(plan.dataset) if plan.dataset else None
    if ds is None or plan.planner != "offline" or plan.asked is None:
        return []
    after = [*history, {"question": question, "plan": plan.public()}]
    out: list[str] = []
    for candidate in candidates(plan.asked, vocabulary(ds)):
        planned = plan_question(candidate, catalog, after, None, False)
        if isinstance(planned, Plan) and planned.code != plan.code and candidate not in out:
            out.append(candidate)
    return out[:OFFERED]


class OfflinePlanner(Planner):
    name = "offline"

    async def plan(
        self, question: str, catalog: Catalog, history: list[dict[str, Any]],
        dataset: str | None = None,
    ) -> Plan | CannotPlan:
        return plan_question(question, catalog, history, dataset)

    def follow_ups(
        self, question: str, plan: Plan, catalog: Catalog, history: list[dict[str, Any]],
    ) -> list[str]:
        return follow_ups(question, plan, catalog, history)

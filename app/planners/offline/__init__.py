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
from app.planners.base import CannotPlan, Plan, Planner
from app.planners.offline.honesty import ask_back, plural_values
from app.planners.offline.reading import read
from app.planners.offline.sql import plan_sql
from app.planners.offline.tokens import tokenize
from app.planners.offline.vocabulary import vocabulary
from app.planners.suggestions import suggestions_for

__all__ = ["OfflinePlanner", "choose_dataset", "plan_question"]

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


def plan_question(
    question: str, catalog: Catalog, history: list[dict[str, Any]] | None = None,
    dataset: str | None = None,
) -> Plan | CannotPlan:
    """The whole offline planner as one pure function (what the tests call)."""
    if _SQL_START.match(question):
        # SQL typed into the chat runs as written (the guard still checks it).
        used = _dataset_from_history([{"plan": {"code": question}}], catalog)
        return Plan("sql", question.strip(), "Your SQL, run as written.", "offline", used)
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
        return CannotPlan(message, fixed + suggestions_for(catalog, ds.name))
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
    return Plan("sql", sql, explanation, "offline", ds.name)


class OfflinePlanner(Planner):
    name = "offline"

    async def plan(
        self, question: str, catalog: Catalog, history: list[dict[str, Any]],
        dataset: str | None = None,
    ) -> Plan | CannotPlan:
        return plan_question(question, catalog, history, dataset)

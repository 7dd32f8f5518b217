"""Shares and percentages: "what share of Gentoo penguins are female", "% of flights
from JFK". The condition (the last value named, or a comparison) is counted among the
rows the other filters pick; rows where the condition's column is empty are left out
of both counts, and the reading says so."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.planners.offline.sql import OPERATOR_WORDS, Names, describe_filters, literal, quote, where

if TYPE_CHECKING:
    from app.planners.offline.reading import Question, Reading

SHARE_WORDS = {"share", "percentage", "percent", "proportion", "fraction", "pct"}


def _condition(r: Reading, q: Question) -> tuple[str, str, Any] | None:
    """A comparison if there is one ("arrived late"), else an empty column ("cancelled"),
    else the last value of the question."""
    compared = [f for f in r.filters if f[1] in (">", "<", ">=", "<=")]
    empty = [f for f in r.filters if f[1] == "is null"]
    if compared or empty:
        return (compared or empty)[-1]
    named = [(t.column, "=", t.value) for t in q.tokens if t.kind == "val"]
    named = [f for f in named if f in r.filters]
    return named[-1] if named else None


def shares(r: Reading, q: Question) -> None:
    """The share rule; only when nothing else is measured (a share of a total of a
    measure, "share of the population", is not read here)."""
    if not (q.words & SHARE_WORDS or "%" in q.text) or r.metrics or r.group:
        return
    condition = _condition(r, q)
    if condition is None:
        return
    r.share = condition
    r.filters = [f for f in r.filters if f != condition]
    r.count, r.listing, r.distinct, r.limit = None, False, [], None


def share_query(r: Reading) -> tuple[str, str] | None:
    if r.share is None:
        return None
    n = Names(r)
    col, op, value = r.share
    noun = r.vocab.main.row_noun
    alias = f"pct_{noun}"
    if op == "is null":  # among all the rows: an empty column is the condition itself
        share = f"ROUND(100.0 * COUNT(*) FILTER (WHERE {n.ref(col)} IS NULL) / COUNT(*), 2)"
        return "\n".join([f"SELECT {share} AS {quote(alias)}"] + n.source()
                         + ([where(r, n)] if r.filters else [])), (
            f"Share of {noun}{describe_filters(r)} whose {col} is missing (no value "
            "recorded), in %.")
    share = (f"ROUND(100.0 * COUNT(*) FILTER (WHERE {n.ref(col)} {op} {literal(value)})"
             f" / COUNT({n.ref(col)}), 2)")
    lines = [f"SELECT {share} AS {quote(alias)}"] + n.source()
    filters = where(r, n)
    if filters:
        lines.append(filters)
    rows = noun + describe_filters(r)
    said = "is" if op == "=" else OPERATOR_WORDS[op]
    return "\n".join(lines), (f"Share of {rows} whose {col} {said} {value}, in % (rows with "
                              f"no recorded {col} excluded).")

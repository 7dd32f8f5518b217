"""The first or last period past a threshold: "in which year did Japan's life expectancy
first exceed 70", "last year Afghanistan's life expectancy was below 40". The condition
is read as any comparison; the answer is the earliest (or latest) year of the rows it
picks, per group when there is one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.planners.offline import english as en

if TYPE_CHECKING:
    from app.planners.offline.reading import Question, Reading


def threshold(r: Reading, q: Question) -> None:
    """Only with a comparison, a calendar year column, and the year asked for ("year",
    "when"): "the first 5 flights over 1000 miles" is not read here."""
    year = r.vocab.calendar("year")
    first, last = q.words & en.FIRST_WORDS, q.words & en.LAST_WORDS
    compared = any(op in (">", "<", ">=", "<=") and col != year for col, op, _ in r.filters)
    asks_year = "when" in q.words or any(t.kind == "col" and t.column == year for t in q.tokens)
    if not (year and compared and asks_year and bool(first) != bool(last)):
        return
    r.threshold = ("min" if first else "max", year)
    r.group = [g for g in r.group if g != year]
    r.listing, r.distinct, r.limit, r.direction = False, [], None, None


def threshold_query(r: Reading) -> tuple[str, str] | None:
    if r.threshold is None:
        return None
    from app.planners.offline.sql import Names, describe_filters, quote, where
    n = Names(r)
    agg, year = r.threshold
    word = "first" if agg == "min" else "last"
    picked = f"{agg.upper()}({n.ref(year)}) AS {quote(f'{word}_{year}')}"
    lines = ["SELECT " + ", ".join([n.named(g) for g in r.group] + [picked])] + n.source()
    lines.append(where(r, n))
    if r.group:
        refs = ", ".join(n.ref(g) for g in r.group)
        lines += [f"GROUP BY {refs}", f"ORDER BY {refs}"]
    per = (" per " + " and ".join(r.group)) if r.group else ""
    return "\n".join(lines), (f"The {word} {year}{per} of the rows of {r.vocab.name}"
                              + describe_filters(r) + " (empty when no row is).")

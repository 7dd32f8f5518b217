"""Two-step questions about one measure: the change between two periods ("how much did
China's life expectancy change from 1952 to 2007", "which country grew the most") and
the gap between two groups ("gap in life expectancy between Europe and Africa", "how
much heavier are Gentoo than Adelie penguins"). Both are one aggregate taken for two
values of one column, then subtracted; the reading says which from which."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.planners.offline import english as en

if TYPE_CHECKING:
    from app.planners.offline.reading import Question, Reading


def _two_values(r: Reading) -> tuple[str, list[Any]] | None:
    """The column named with exactly two values (years may come as "from 1952 to 2007"
    or "between 1952 and 2007"), and those values in the order they were named."""
    named: dict[str, list[Any]] = {}
    for col, op, value in r.filters:
        if op in ("=", ">=", "<=") or (op == "between" and col == r.vocab.calendar("year")):
            for v in (value if op == "between" else (value,)):
                if v not in named.setdefault(col, []):
                    named[col].append(v)
    pairs = [(col, values) for col, values in named.items() if len(values) == 2]
    return pairs[0] if len(pairs) == 1 else None


def _asked(q: Question) -> str | None:
    """"change" (later minus earlier), "gap" (first named minus second), or None."""
    if q.words & en.CHANGE_WORDS or q.words & en.FALL_WORDS:
        return "change"
    comparative = "how much" in q.low and "than" in q.words
    if q.words & en.GAP_WORDS or comparative:
        return "gap"
    return None


def _first_minus_second(r: Reading, kind: str, col: str, values: list[Any]) -> list[Any]:
    """A change is the later minus the earlier ("between 2007 and 1952" too); a gap is
    the first named minus the second."""
    if kind != "change":
        return values
    return sorted(values, reverse=True) if r.vocab.is_calendar(col) else values[::-1]


def difference(r: Reading, q: Question) -> None:
    """The difference rule: one measure, one column named with two values."""
    kind = _asked(q)
    pair = _two_values(r) if kind else None
    if pair is None or len(r.metrics) != 1 or r.count:
        return
    col, values = pair
    r.filters = [f for f in r.filters if f[0] != col]
    r.difference = (kind, col, *_first_minus_second(r, kind, col, values))
    r.group = [g for g in r.group if g != col]
    if q.words & en.FALL_WORDS and r.direction:  # "fell the most": the most negative change
        r.direction = "asc" if r.direction == "desc" else "desc"
    r.listing, r.distinct = False, []


def difference_query(r: Reading) -> tuple[str, str] | None:
    """SQL for a difference reading: both aggregates, and the second from the first."""
    if r.difference is None:
        return None
    from app.planners.offline import sql  # sql builds on the readings, not the reverse
    n = sql.Names(r)
    kind, col, first, second = r.difference
    m = r.metrics[0]
    agg = r.agg or "avg"

    def side(value: Any) -> str:
        return f"{agg.upper()}({n.ref(m)}) FILTER (WHERE {n.ref(col)} = {sql.literal(value)})"

    alias = f"{kind}_{agg}_{sql.bare(m)}"
    selects = [f"ROUND({side(v)}, 2) AS {sql.quote(f'{agg}_{sql.bare(m)}_{v}')}"
               for v in (second, first)]
    selects.append(f"ROUND({side(first)} - {side(second)}, 2) AS {sql.quote(alias)}")
    filters = sql.where(r, n)
    within = f"{n.ref(col)} IN ({sql.literal(second)}, {sql.literal(first)})"
    lines = ["SELECT " + ", ".join([n.named(g) for g in r.group] + selects)] + n.source()
    lines.append((filters + " AND " if filters else "WHERE ") + within)
    what = (f"{'Change' if kind == 'change' else 'Difference'} in {sql.AGGREGATE_WORDS[agg]} {m}: "
            f"{col} = {first} minus {col} = {second}")
    if r.group:
        g = ", ".join(n.ref(x) for x in r.group)
        order = f"ORDER BY {sql.quote(alias)} {(r.direction or 'desc').upper()} NULLS LAST, {g}"
        lines += [f"GROUP BY {g}", order]
        limit = 1 if r.direction and sql.winner_only(r) else r.limit
        lines += [f"LIMIT {limit}"] if limit else []
        what += " per " + " and ".join(r.group)
        if r.direction:
            what += ", " + ("largest" if r.direction == "desc" else "smallest") + " first"
    return "\n".join(lines), what + f" in {r.vocab.name}" + sql.describe_filters(r) + "."

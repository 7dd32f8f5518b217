"""Writing DuckDB SQL for a Reading: the query and a one-line explanation of it.

Plain names while the query reads one table (`SELECT species, ... FROM penguins`);
table-qualified names and one JOIN per joined table, along the key the manifest
declares, when a column of another table is used.
"""

from __future__ import annotations

import re
from typing import Any

from app.planners.offline.english import AGGREGATE_WORDS, SMALL_GROUP
from app.planners.offline.reading import Reading

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_RESERVED = {"select", "from", "where", "group", "order", "by", "limit", "table", "user",
             "all", "and", "or", "not", "as", "in", "is", "on", "to", "end", "case"}
OPERATOR_WORDS = {"=": "=", ">": ">", "<": "<", ">=": "≥", "<=": "≤"}


def quote(name: str) -> str:
    """An identifier as DuckDB needs it: bare when plain lower-case, else double-quoted."""
    if _IDENT.match(name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def bare(key: str) -> str:
    """The column name of a column key ("airlines.name" -> "name")."""
    return key.split(".")[-1]


class Names:
    """How the query names tables and columns: qualified only when it joins."""

    def __init__(self, r: Reading) -> None:
        self.main = r.vocab.main.name
        self.joins = [(t, r.vocab.joins[t][i]) for t, i in sorted(r.joins.items())]
        self.vocab = r.vocab

    def ref(self, key: str) -> str:
        """A column, or the expression of a derived column (over the main table's own
        columns, so never in a query that joins: the names could be ambiguous)."""
        table, _, column = key.rpartition(".")
        c = self.vocab.column(key)
        if c is not None and c.expression:
            if self.joins:
                raise ValueError("a derived column in a query with a join")
            return f"({c.expression})"
        if not self.joins:
            return quote(column)
        return f"{quote(table or self.main)}.{quote(column)}"

    def named(self, key: str) -> str:
        """A column in a SELECT list; a derived one under its own name."""
        c = self.vocab.column(key)
        return f"{self.ref(key)} AS {quote(bare(key))}" if c and c.expression else self.ref(key)

    def source(self) -> list[str]:
        lines = [f"FROM {quote(self.main)}"]
        for table, key in self.joins:
            on = " AND ".join(
                f"{quote(self.main)}.{quote(a)} = {quote(table)}.{quote(b)}"
                for a, b in zip(key.columns, key.other_columns, strict=True))
            lines.append(f"JOIN {quote(table)} ON {on}")
        return lines

    def star(self, extra: list[str]) -> str:
        """SELECT * of the main table, plus the joined and derived columns the question
        used."""
        used = list(dict.fromkeys(extra))
        derived = [self.named(k) for k in used if (c := self.vocab.column(k)) and c.expression]
        if not self.joins:
            return ", ".join(["*"] + derived)
        joined = [self.ref(k) for k in used if "." in k]
        return ", ".join([f"{quote(self.main)}.*"] + joined + derived)


def where(r: Reading, n: Names) -> str:
    parts = []
    for col, op, value in r.filters:
        if op == "in":
            parts.append(f"{n.ref(col)} IN ({', '.join(literal(v) for v in value)})")
        elif op == "between":
            parts.append(f"{n.ref(col)} BETWEEN {value[0]} AND {value[1]}")
        elif op == "is null":
            parts.append(f"{n.ref(col)} IS NULL")
        else:
            parts.append(f"{n.ref(col)} {op} {literal(value)}")
    return "WHERE " + " AND ".join(parts) if parts else ""


def describe_filters(r: Reading) -> str:
    parts = []
    for col, op, value in r.filters:
        if op == "in":
            parts.append(f"{col} in ({', '.join(str(v) for v in value)})")
        elif op == "between":
            parts.append(f"{col} between {value[0]} and {value[1]}")
        elif op == "is null":
            parts.append(f"{col} is missing (no value recorded)")
        else:
            parts.append(f"{col} {OPERATOR_WORDS[op]} {value}")
    return " where " + " and ".join(parts) if parts else ""


def _metric_alias(r: Reading, agg: str, m: str) -> str:
    return f"{agg}_{bare(m)}" + (f"_{r.unit_out[0]}" if r.unit_out else "")


def _metric(r: Reading, n: Names, agg: str, m: str) -> str:
    """One aggregate of a metric, converted to the unit asked for ("in kg")."""
    expr = f"{agg.upper()}({n.ref(m)})"
    if r.unit_out:
        expr = f"ROUND({expr} * {r.unit_out[1]!r}::DOUBLE, 3)"
    elif agg in ("avg", "median"):
        expr = f"ROUND({expr}, 2)"
    return f"{expr} AS {quote(_metric_alias(r, agg, m))}"


def _unit_words(r: Reading) -> str:
    if not r.unit_out:
        return ""
    column = r.vocab.column(r.metrics[0])
    unit = column.unit if column else "?"
    return f" in {r.unit_out[0]} (the column is in {unit}; × {r.unit_out[1]:.6g})"


def _measures(r: Reading, n: Names) -> tuple[list[str], str, str]:
    """(SELECT items, what they are in words, the alias to order by)."""
    if r.metrics:
        agg = r.agg or {"desc": "max", "asc": "min"}.get(r.direction or "", "avg")
        selects = [_metric(r, n, agg, m) for m in r.metrics]
        what = ", ".join(f"{AGGREGATE_WORDS[agg]} {m}" for m in r.metrics) + _unit_words(r)
        return selects, what, _metric_alias(r, agg, r.metrics[0])
    if r.count == "*":
        noun = r.vocab.main.row_noun
        return [f"COUNT(*) AS {quote(f'n_{noun}')}"], f"number of {noun}", f"n_{noun}"
    alias = f"n_{bare(r.count or '')}"
    return ([f"COUNT(DISTINCT {n.ref(r.count or '')}) AS {quote(alias)}"],
            f"number of distinct {r.count}", alias)


def winner_only(r: Reading) -> bool:
    """"which country had the highest ..." over many countries: just the winner."""
    if r.limit is not None or not r.singular_group:
        return False
    values = r.vocab.values
    first = r.group[0]
    return (len(r.group) == 1 and len(values.get(first, [])) > SMALL_GROUP) or first not in values


def _group_tail(r: Reading, n: Names, order_alias: str) -> tuple[list[str], str]:
    """GROUP BY / ORDER BY / LIMIT lines and the words they add to the explanation."""
    group = [n.ref(g) for g in r.group]
    lines = ["GROUP BY " + ", ".join(group)]
    words = " per " + " and ".join(r.group) + f" in {r.vocab.name}" + describe_filters(r)
    limit = r.limit
    if r.direction:
        lines.append(f"ORDER BY {quote(order_alias)} {r.direction.upper()}, " + ", ".join(group))
        limit = 1 if winner_only(r) else limit
        words += ", " + ("highest" if r.direction == "desc" else "lowest") + " first"
    elif r.order_by and r.order_by in r.group:
        lines.append(f"ORDER BY {n.ref(r.order_by)}" + (" DESC" if r.direction else ""))
    else:
        lines.append("ORDER BY " + ", ".join(group))
    if limit:
        lines.append(f"LIMIT {limit}")
        words += f", top {limit}" if limit > 1 else ", the top one"
    return lines, words


def _per_group_query(r: Reading, n: Names) -> tuple[str, str]:
    """"top 3 countries by GDP per capita in each continent": rank within each group
    of the first grouping (QUALIFY keeps the first N of each)."""
    selects, what, order_alias = _measures(r, n)
    part, ranked = r.group
    measure = selects[0].rsplit(" AS ", 1)[0]
    direction = (r.direction or "desc").upper()
    lines = ["SELECT " + ", ".join([n.named(part), n.named(ranked)] + selects)] + n.source()
    filters = where(r, n)
    lines += [filters] if filters else []
    rank = (f"ROW_NUMBER() OVER (PARTITION BY {n.ref(part)} ORDER BY {measure} {direction}, "
            f"{n.ref(ranked)})")
    lines += [f"GROUP BY {n.ref(part)}, {n.ref(ranked)}", f"QUALIFY {rank} <= {r.limit}",
              f"ORDER BY {n.ref(part)}, {quote(order_alias)} {direction}"]
    word = "highest" if direction == "DESC" else "lowest"
    return "\n".join(lines), (f"The {r.limit} {ranked} with the {word} {what} within each "
                              f"{part} in {r.vocab.name}" + describe_filters(r) + ".")


def _aggregate_query(r: Reading, n: Names) -> tuple[str, str]:
    if r.per_group and len(r.group) == 2 and r.limit:
        return _per_group_query(r, n)
    selects, what, order_alias = _measures(r, n)
    lines = ["SELECT " + ", ".join([n.named(g) for g in r.group] + selects)] + n.source()
    filters = where(r, n)
    if filters:
        lines.append(filters)
    explanation = what[0].upper() + what[1:]
    if r.group:
        tail, words = _group_tail(r, n, order_alias)
        lines += tail
        explanation += words
    else:
        explanation += f" in {r.vocab.name}" + describe_filters(r)
    return "\n".join(lines), explanation + "."


def _distinct_query(r: Reading, n: Names) -> tuple[str, str]:
    cols = [n.ref(c) for c in r.distinct]
    lines = ["SELECT DISTINCT " + ", ".join(n.named(c) for c in r.distinct)] + n.source()
    not_null = " AND ".join(f"{c} IS NOT NULL" for c in cols)
    filters = where(r, n)
    lines.append((filters + " AND " + not_null) if filters else "WHERE " + not_null)
    lines.append("ORDER BY " + ", ".join(cols))
    return "\n".join(lines), (f"The distinct {', '.join(r.distinct)} values in "
                              f"{r.vocab.name}" + describe_filters(r) + ".")


def _listing_query(r: Reading, n: Names) -> tuple[str, str]:
    lines = [f"SELECT {n.star(r.columns())}"] + n.source()
    filters = where(r, n)
    if filters:
        lines.append(filters)
    if r.order_by:
        lines.append(f"ORDER BY {n.ref(r.order_by)}" + (" DESC" if r.direction == "desc" else ""))
    if r.limit:
        lines.append(f"LIMIT {r.limit}")
    return "\n".join(lines), f"Rows of {r.vocab.name}" + describe_filters(r) + "."


def write_sql(r: Reading) -> tuple[str, str]:
    """(SQL, explanation) for a reading; raises ValueError when the shape is incomplete."""
    n = Names(r)
    if r.metrics or r.count:
        return _aggregate_query(r, n)
    if r.distinct and r.direction and not r.explicit_list:
        raise ValueError("a superlative with nothing to measure")  # "the smallest country"
    if r.distinct:
        return _distinct_query(r, n)
    if r.listing:
        return _listing_query(r, n)
    raise ValueError("no shape")


def _is_lookup(r: Reading) -> bool:
    """Metrics of rows picked by value, with nothing to aggregate or rank."""
    plain = r.agg is None and not r.direction and not r.count and not r.group
    return bool(r.metrics and r.filters and plain)


def value_lookup(r: Reading) -> tuple[str, str] | None:
    """"life expectancy of Japan in 2007": the metric's values for the named rows."""
    if not _is_lookup(r):
        return None
    n = Names(r)
    shown = list(dict.fromkeys([f[0] for f in r.filters if f[1] == "="] + r.metrics))
    order = [c for c in ("year", "month") if r.vocab.column(c) and c not in shown]
    lines = ["SELECT " + ", ".join(n.named(c) for c in order + shown)] + n.source() + [where(r, n)]
    if order:
        lines.append("ORDER BY " + ", ".join(n.ref(c) for c in order))
    if r.limit:
        lines.append(f"LIMIT {r.limit}")
    return "\n".join(lines), (f"{', '.join(r.metrics)} in {r.vocab.name}"
                              + describe_filters(r) + ".")


def top_rows(r: Reading) -> tuple[str, str] | None:
    """"the 5 longest flights" / "the heaviest penguin": whole rows ordered by a metric."""
    if not (r.metrics and r.direction and not r.group and r.agg is None and r.limit):
        return None
    n = Names(r)
    m = r.metrics[0]
    filters = where(r, n)
    lines = [f"SELECT {n.star(r.columns())}"] + n.source()
    lines.append((filters + " AND " if filters else "WHERE ") + f"{n.ref(m)} IS NOT NULL")
    lines += [f"ORDER BY {n.ref(m)} {r.direction.upper()}", f"LIMIT {r.limit}"]
    word = "highest" if r.direction == "desc" else "lowest"
    return "\n".join(lines), (f"The {r.limit} rows of {r.vocab.name} with the {word} {m}"
                              + describe_filters(r) + ".")


def plan_sql(r: Reading) -> tuple[str, str]:
    """The first shape that fits: top rows, a value look-up, or an aggregate/list."""
    from app.planners.offline.differences import difference_query  # they build on this module
    from app.planners.offline.shares import share_query
    from app.planners.offline.thresholds import threshold_query
    shaped = (difference_query(r) or threshold_query(r) or share_query(r) or top_rows(r)
              or value_lookup(r))
    if shaped and r.unit_out:
        raise ValueError("a unit conversion is only written for aggregates")
    return shaped or write_sql(r)

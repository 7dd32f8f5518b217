"""The reading of a plan the planner did not write itself (an LLM's): what its SQL
filters, groups, measures, orders and limits, in plain words, and which content words of
the question it does not use.

The offline planner writes its reading from its own plan. An LLM's explanation is its
own account, so the same step is done here from the code: the reading is written from
the SQL (sqlglot, DuckDB dialect), and every value, column or number the question names
(tokens of the offline planner's vocabulary, so words no manifest knows cannot be
checked) must appear in the code, or the answer is flagged.
"""

from __future__ import annotations

import re
from typing import Any

import sqlglot
from sqlglot import exp

from app.catalog import Catalog
from app.planners.offline import choose_dataset
from app.planners.offline.tokens import tokenize
from app.planners.offline.vocabulary import vocabulary

AGGREGATES = {"avg": "average", "sum": "total", "min": "minimum", "max": "maximum",
              "count": "number", "median": "median", "stddev": "standard deviation"}


def _measure(node: exp.Expression) -> str:
    """"average body_mass_g" for AVG(body_mass_g); the column for a plain column."""
    agg = node.find(exp.AggFunc)
    if agg is None:
        return node.sql("duckdb") if not isinstance(node, exp.Alias) else node.this.sql("duckdb")
    name = AGGREGATES.get(agg.key.lower(), agg.key.lower())
    inner = agg.this
    if inner is None or isinstance(inner, exp.Star):
        return f"{name} of rows"
    distinct = "distinct " if isinstance(inner, exp.Distinct) else ""
    target = inner.expressions[0] if isinstance(inner, exp.Distinct) else inner
    return f"{name} of {distinct}{target.sql('duckdb')}"


def sql_reading(code: str) -> str | None:
    """The plain-words reading of one SELECT, or None when it does not parse as one."""
    try:
        stmt = sqlglot.parse_one(code, read="duckdb")
    except Exception:  # noqa: BLE001 - sqlglot raises several kinds on odd SQL
        return None
    select = stmt if isinstance(stmt, exp.Select) else stmt.find(exp.Select)
    if select is None:
        return None
    groups = [g.sql("duckdb") for g in (select.args.get("group") or exp.Group()).expressions]
    measures = [_measure(e) for e in select.expressions if e.alias_or_name not in groups]
    tables = sorted({t.name for t in stmt.find_all(exp.Table) if t.name})
    text = ", ".join(measures or ["rows"]) + (f" in {', '.join(tables)}" if tables else "")
    if groups:
        text += f" per {', '.join(groups)}"
    text += _conditions(select)
    return text[0].upper() + text[1:] + "."


def _conditions(select: exp.Select) -> str:
    """" where ..., ordered by ..., first N" of one SELECT."""
    text = ""
    where = select.args.get("where")
    if where is not None:
        text += f" where {where.this.sql('duckdb')}"
    order = select.args.get("order")
    if order is not None:
        text += ", ordered by " + ", ".join(
            o.this.sql("duckdb") + (" highest first" if o.args.get("desc") else "")
            for o in order.expressions)
    limit = select.args.get("limit")
    if limit is not None and limit.expression is not None:
        text += f", first {limit.expression.sql('duckdb')}"
    return text


def _used(token: Any, low_code: str) -> bool:
    if token.kind == "val":
        return str(token.value).lower() in low_code
    if token.kind == "num":
        return re.search(r"(?<![\w.])" + re.escape(str(token.value)) + r"(?![\w])",
                         low_code) is not None
    name = (token.column or "").split(".")[-1].lower()
    return re.search(r"(?<![\w])" + re.escape(name) + r"(?![\w])", low_code) is not None


def unused_words(question: str, code: str, catalog: Catalog, dataset: str | None,
                 history: list[dict[str, Any]]) -> list[str]:
    """Values, columns and numbers the question names that the code does not use (as
    written in the question, e.g. "gentoo")."""
    name = dataset or choose_dataset(question, catalog, history)
    ds = catalog.get(name) if name else None
    if ds is None:
        return []
    low_code = code.lower()
    tokens = tokenize(question, vocabulary(ds))
    return [t.text for t in tokens
            if t.kind in ("val", "num", "col") and not t.weak and not _used(t, low_code)]

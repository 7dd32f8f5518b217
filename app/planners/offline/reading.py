"""Reading a question: what is filtered, grouped, measured, counted, ordered and limited.

`read` runs the rules of rules.py in order over the tokens; each rule fills part of
the Reading. The SQL writer (sql.py) turns a Reading into a query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from app.planners.offline import honesty, rules, shares, units
from app.planners.offline.tokens import Token, tokenize
from app.planners.offline.vocabulary import Vocabulary


@dataclass
class Reading:
    vocab: Vocabulary
    filters: list[tuple[str, str, Any]] = field(default_factory=list)  # (column, op, value)
    group: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    agg: str | None = None
    count: str | None = None  # "*" or a column counted DISTINCT
    direction: str | None = None  # "desc" | "asc"
    limit: int | None = None
    distinct: list[str] = field(default_factory=list)
    order_by: str | None = None
    singular_group: bool = False
    listing: bool = False
    explicit_list: bool = False
    joins: dict[str, int] = field(default_factory=dict)  # joined table -> index of its key
    unread: list[str] = field(default_factory=list)  # words neither used nor ignorable
    share: tuple[str, str, Any] | None = None  # the condition of "share of ... that ..."
    unit_out: tuple[str, float] | None = None  # "in kg": the unit asked for, the factor
    # "change"/"gap", the column, and its two values: the answer is first minus second
    difference: tuple[str, str, Any, Any] | None = None
    threshold: tuple[str, str] | None = None  # ("min" | "max", the year column)
    per_group: bool = False  # "top 3 X in each Y": the limit applies within each Y

    def columns(self) -> list[str]:
        """Every column key the reading uses."""
        keys = [f[0] for f in self.filters] + self.group + self.metrics + self.distinct
        keys += [self.count] if self.count and self.count != "*" else []
        keys += [self.order_by] if self.order_by else []
        keys += [self.share[0]] if self.share else []
        keys += [self.difference[1]] if self.difference else []
        keys += [self.threshold[1]] if self.threshold else []
        return keys


@dataclass
class Question:
    """The question as the rules see it."""
    text: str
    low: str
    tokens: list[Token]
    words: set[str]  # every word as written, including those inside column mentions
    used: set[int] = field(default_factory=set)  # indexes of col tokens that got a role
    counting: bool = False
    joined_nouns: set[str] = field(default_factory=set)  # set by the honesty rule
    read: set[str] = field(default_factory=set)  # words a rule read ("febuary" as February)


def read(question: str, vocab: Vocabulary) -> Reading:
    low = question.lower()
    q = Question(question, low, tokenize(question, vocab), set(re.findall(r"[a-z0-9]+", low)))
    r = Reading(vocab)
    for rule in (*rules.ORDER, units.output_unit, shares.shares):
        rule(r, q)
    r.unread = honesty.leftover(r, q)
    return r

"""Follow-ups: questions that refer to the previous answer ("and for 1952?", "what about
Gentoo?", "and by island?") are read as the previous question with that part swapped,
and after each answer the planner offers a few such questions it can answer.

The previous question is the one the previous plan answered (`Plan.asked`, kept in the
stored plan), so a follow-up of a follow-up still has every part of the first one.
What was understood is said by the reading of the new plan, as for any question.
"""

from __future__ import annotations

import re
from typing import Any

from app.planners.offline.tokens import Token, tokenize
from app.planners.offline.vocabulary import Vocabulary

# "and for 1952?", "what about Asia", "how about by island", "same for Gentoo"
REFERS = re.compile(
    r"^\s*(?:and\s+what\s+about|and\s+how\s+about|what\s+about|how\s+about|and(?:\s+the)?"
    r"\s+same\s+for|same\s+for|and)\b[\s,]*(?P<rest>.*?)[\s?.!]*$",
    re.IGNORECASE | re.DOTALL,
)
_GROUP_WORDS = {"by", "per", "each"}
_YEAR = range(1800, 2200)
OFFERED = 3


def previous_question(history: list[dict[str, Any]]) -> str | None:
    """The question the conversation's last planned answer read (None: none was planned
    by this planner)."""
    for answer in reversed(history):
        plan = (answer or {}).get("plan") or {}
        if plan.get("planner") == "offline":
            return plan.get("asked") or answer.get("question")
        if plan:
            return None
    return None


def _span(text: str, t: Token, new: str) -> str:
    return text[:t.start] + new + text[t.end:]


def _swap_value(prev: str, prev_tokens: list[Token], t: Token) -> str:
    """`prev` with the value of t's kind (same column, or a year for a year) replaced
    by t's text, or with it added ("... in 1952")."""
    for old in reversed(prev_tokens):
        same_column = t.kind == "val" and old.kind == "val" and old.column == t.column
        same_year = (t.kind == "num" and old.kind == "num" and t.value in _YEAR
                     and old.value in _YEAR)
        if same_column or same_year:
            return _span(prev, old, t.text)
    return f"{prev.rstrip(' ?.!')} {'in' if t.kind == 'num' else 'for'} {t.text}"


def _swap_group(prev: str, prev_tokens: list[Token], t: Token) -> str:
    """`prev` grouped by t's column instead of its own group, or grouped by it too."""
    for i, old in enumerate(prev_tokens):
        if old.kind == "col" and i and prev_tokens[i - 1].text in _GROUP_WORDS:
            return _span(prev, old, t.text)
    return f"{prev.rstrip(' ?.!')} by {t.text}"


def resolve(question: str, prev: str, v: Vocabulary) -> str | None:
    """The follow-up `question` written out against `prev`, or None when it does not
    refer to it or names nothing to swap."""
    m = REFERS.match(question)
    if not m or not m.group("rest"):
        return None
    tokens = tokenize(m.group("rest"), v)
    parts = [t for t in tokens if t.kind in ("val", "num", "col")]
    if not parts or any(t.kind == "word" and t.text not in _GROUP_WORDS | {"for", "in", "on"}
                        for t in tokens):
        return None  # words it cannot place: not a simple swap
    rest, out = m.group("rest"), prev
    for i, t in enumerate(tokens):
        t.text = rest[t.start:t.end]  # as the person wrote it ("Gentoo", not "gentoo")
        grouping = i and tokens[i - 1].text in _GROUP_WORDS
        if t.kind == "col" and grouping:
            out = _swap_group(out, tokenize(out, v), t)
        elif t.kind in ("val", "num"):
            out = _swap_value(out, tokenize(out, v), t)
        elif t.kind == "col":
            return None
    return out


def _categories(v: Vocabulary, used: set[str]) -> list[str]:
    """Columns of the main table with a handful of text values the reading does not use."""
    return [key for key, column in v.columns.items()
            if "." not in key and key not in used and not column.is_numeric
            and not v.is_calendar(key) and 1 < len(v.values_of(key)) <= 12]


def _other_values(r: Any, v: Vocabulary) -> list[str]:
    """Another value of each column the reading filters on ("and for Africa?")."""
    out = []
    for column, op, value in r.filters:
        others = [x for x in v.values_of(column) if x != value] if op == "=" else []
        if others:
            out.append(f"and for {others[0]}?")
    return out


def _new_parts(r: Any, v: Vocabulary) -> list[str]:
    """A grouping the reading does not have, a condition on a column it does not use,
    and the latest year when it has none."""
    used, out = set(r.columns()), []
    unused = _categories(v, used)
    if unused and not r.group:
        out.append(f"and by {unused[0]}?")
    if unused[1:] or (unused and r.group):
        out.append(f"and for {v.values_of(unused[-1])[0]}?")
    years = [k for k in v.columns if k.lower() == "year" and k not in used]
    if years and len(v.values_of(years[0])) > 1:
        out.append(f"and for {max(v.values_of(years[0]))}?")
    return out


def candidates(asked: str, v: Vocabulary) -> list[str]:
    """Follow-ups built from the reading of `asked` and the manifest."""
    # Imported here: reading.py's own imports come round to this package's start.
    from app.planners.offline.reading import read

    r = read(asked, v)
    return _other_values(r, v) + _new_parts(r, v)

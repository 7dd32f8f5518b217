"""Execution match: does a result table hold the expected answer?

Each expected column must be found among the result's columns (extra columns are
allowed); rows compare as a multiset unless the question is ordered; numbers match
within a tolerance (the planner rounds averages to two decimals).
"""

from __future__ import annotations

import itertools
import math
from datetime import date, datetime
from typing import Any

ABS_TOLERANCE = 0.011
REL_TOLERANCE = 1e-4
MAX_MAPPINGS = 256


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float):
        return float(v)
    try:
        return float(v)  # Decimal, numeric strings
    except (TypeError, ValueError):
        return None


def same_value(got: Any, want: Any) -> bool:
    if want is None or got is None:
        return got is None and want is None
    a, b = _number(got), _number(want)
    if a is not None and b is not None:
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(a - b) <= max(ABS_TOLERANCE, REL_TOLERANCE * abs(b))
    if isinstance(want, datetime | date):  # the API sends ISO text
        return str(got).replace("T", " ")[:19] == str(want)[:19]
    return str(got) == str(want)


def _key(v: Any) -> tuple[int, Any]:
    n = _number(v)
    if v is None:
        return (0, "")
    if n is not None and not math.isnan(n):
        return (1, round(n, 1))
    return (2, str(v).replace("T", " "))


def _rows_match(got: list[tuple[Any, ...]], want: list[tuple[Any, ...]], ordered: bool) -> bool:
    if len(got) != len(want):
        return False
    if not ordered:
        got = sorted(got, key=lambda r: [_key(v) for v in r])
        want = sorted(want, key=lambda r: [_key(v) for v in r])
    return all(same_value(g, w) for gr, wr in zip(got, want, strict=True)
               for g, w in zip(gr, wr, strict=True))


def _column_fits(got: list[Any], want: list[Any]) -> bool:
    """Could this result column be that expected column (same values, any order)?"""
    return _rows_match([(v,) for v in got], [(v,) for v in want], ordered=False)


def matches(columns: list[str], rows: list[list[Any]], expected: list[tuple[Any, ...]],
            ordered: bool, ranking: bool = False) -> bool:
    """True when some choice of result columns, one per expected column, gives the
    expected rows. With `ranking` (a superlative: one expected row), a ranking whose
    first row is that row also matches: the answer is on top, the rest is context."""
    if ranking and len(expected) == 1 and len(rows) > 1:
        return matches(columns, rows[:1], expected, ordered)
    if len(rows) != len(expected):
        return False
    if not expected:
        return True
    width = len(expected[0])
    candidates = []
    for j in range(width):
        want = [r[j] for r in expected]
        fits = [k for k in range(len(columns)) if _column_fits([r[k] for r in rows], want)]
        if not fits:
            return False
        candidates.append(fits)
    for mapping in itertools.islice(itertools.product(*candidates), MAX_MAPPINGS):
        if len(set(mapping)) < width:
            continue
        picked = [tuple(r[k] for k in mapping) for r in rows]
        if _rows_match(picked, expected, ordered):
            return True
    return False

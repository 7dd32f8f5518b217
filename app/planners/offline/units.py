"""Answers in another unit than the column's: "avg body mass in kg" over a column in
grams, "avg air time in hours" over minutes. The factor comes from the conversions of
english.py and the unit the manifest declares for the column; the reading says both."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from app.planners.offline import english as en

if TYPE_CHECKING:
    from app.planners.offline.reading import Question, Reading


def factor(column_unit: str, wanted: str) -> float | None:
    """What to multiply a value in column_unit by to have it in wanted (None: unknown)."""
    direct = en.CONVERSIONS.get((column_unit.lower(), wanted))
    if direct is not None:
        return direct
    back = en.CONVERSIONS.get((wanted, column_unit.lower()))
    return 1 / back if back else None


def output_unit(r: Reading, q: Question) -> None:
    """"in kg" right after "in", not after a number ("over 2 hours" is a condition):
    the measured column converted, when the manifest gives its unit and the
    conversion is known."""
    for i, t in enumerate(q.tokens):
        wanted = en.UNIT_WORDS.get(t.text)
        if wanted is None or i == 0 or q.tokens[i - 1].text != "in" or len(r.metrics) != 1:
            continue
        column = r.vocab.column(r.metrics[0])
        if column is None or not column.unit or column.unit.lower() == wanted:
            continue
        f = factor(column.unit, wanted)
        if f is not None:
            r.unit_out = (wanted, f)
            # "in hours" is the unit, not the column "hour": a word of the planner's own
            q.tokens[i] = replace(t, kind="word", column=None)

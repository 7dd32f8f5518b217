"""A proposed manifest entry from profiled files: columns with types and proposed
synonyms, keys where a column names another table's unique column, and example
questions the offline planner answers. A person reviews it before it is trusted."""

from __future__ import annotations

import re
from typing import Any

from app.dataset_files import ColumnProfile, TableProfile

REVIEW = "(proposed by corral datasets add: review)"
# Common abbreviations in column names, spelled out for synonyms ("dep_delay").
ABBREVIATIONS = {
    "dep": "departure", "arr": "arrival", "qty": "quantity", "amt": "amount",
    "num": "number", "no": "number", "pct": "percent", "avg": "average", "temp": "temperature",
    "desc": "description", "cat": "category", "dt": "date", "ts": "time", "yr": "year",
    "mo": "month", "cust": "customer", "prod": "product", "addr": "address",
}
UNIT_SUFFIXES = {"mm": "mm", "cm": "cm", "m": "m", "km": "km", "g": "grams", "kg": "kg",
                 "s": "seconds", "ms": "milliseconds", "min": "minutes", "pct": "percent",
                 "usd": "usd", "eur": "eur"}


def words_of(name: str) -> list[str]:
    """lifeExp -> [life, exp]; body_mass_g -> [body, mass, g]."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " ").lower()
    return spaced.split()


def plural(phrase: str) -> str:
    """English plural of the last word: branch -> branches, city -> cities."""
    if phrase.endswith(("s", "x", "ch", "sh")):
        return phrase if phrase.endswith("s") else phrase + "es"
    if phrase.endswith("y") and phrase[-2:-1] not in "aeiou":
        return phrase[:-1] + "ies"
    return phrase + "s"


def proposed_synonyms(name: str) -> tuple[list[str], str | None]:
    """(synonyms, unit) proposed from a column name alone."""
    words = words_of(name)
    unit = UNIT_SUFFIXES.get(words[-1]) if len(words) > 1 else None
    base = words[:-1] if unit else words
    spelled = [ABBREVIATIONS.get(w, w) for w in base]
    phrases = {" ".join(base), " ".join(spelled)}
    phrases |= {plural(p) for p in list(phrases)}
    phrases.discard(name.lower())
    return sorted(p for p in phrases if p), unit


def column_entry(c: ColumnProfile) -> dict[str, Any]:
    synonyms, unit = proposed_synonyms(c.name)
    entry: dict[str, Any] = {"name": c.name, "type": c.type,
                             "meaning": f"{' '.join(words_of(c.name))} {REVIEW}"}
    if unit:
        entry["unit"] = unit
    if synonyms:
        entry["synonyms"] = synonyms
    measured: dict[str, Any] = {"nulls": c.nulls, "distinct": c.distinct}
    if c.minimum is not None:
        measured |= {"min": c.minimum, "max": c.maximum}
    if c.values:
        measured["values"] = c.values  # the offline planner finds these in questions
    entry["profile"] = measured
    return entry


def proposed_keys(tables: list[TableProfile]) -> list[dict[str, str]]:
    """table.x -> other.x where x is unique in `other` (one row per value there)."""
    keys = []
    for table in tables:
        for other in tables:
            if other is table:
                continue
            for c in other.columns:
                unique = c.distinct == other.row_count and c.nulls == 0
                if unique and any(x.name == c.name for x in table.columns) \
                        and table.row_count > other.row_count:
                    keys.append({"from": f"{table.name}.{c.name}", "to": f"{other.name}.{c.name}"})
    return keys


def example_questions(main: TableProfile) -> list[str]:
    noun = main.name.replace("_", " ")
    text = [c for c in main.columns if c.values and len(c.values) > 1]
    numbers = [c for c in main.columns if c.type in ("INTEGER", "BIGINT", "DOUBLE", "FLOAT")
               and not c.name.endswith("id") and c.distinct > 1]
    out = [f"How many {noun} are there?"]
    if text:
        out.insert(0, f"How many {noun} per {' '.join(words_of(text[0].name))}?")
    if text and numbers:
        out.append(f"What is the average {' '.join(words_of(numbers[0].name))} by "
                   f"{' '.join(words_of(text[0].name))}?")
    return out


def dataset_entry(name: str, tables: list[TableProfile]) -> dict[str, Any]:
    """The manifest entry for `tables` (the first is the main table)."""
    # The table with the most rows is what questions are mostly about.
    tables = sorted(tables, key=lambda t: -t.row_count)
    questions = example_questions(tables[0])
    entry: dict[str, Any] = {
        "title": name.replace("_", " ").capitalize(),
        "description": (f"{sum(t.row_count for t in tables)} rows in {len(tables)} "
                        f"table(s): {', '.join(t.name for t in tables)} {REVIEW}"),
        "license": f"unknown {REVIEW}",
        "nouns": sorted({name.replace("_", " "), tables[0].name.replace("_", " ")}),
        "canonical_question": questions[0],
        "example_questions": questions,
        "tables": {t.name: {
            "file": t.file.name, "row_count": t.row_count, "sha256": t.sha256,
            "row_noun": t.name.replace("_", " "),
            "columns": [column_entry(c) for c in t.columns],
        } for t in tables},
    }
    keys = proposed_keys(tables)
    if keys:
        entry["keys"] = keys
    return entry

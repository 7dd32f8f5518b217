"""The words a dataset is asked about, built from its manifest entry: column names and
synonyms, values found in the data and their aliases, nouns for its rows, and the
columns of tables one declared key away from the main table.

A column is named by a key: its plain name for the main table ("arr_delay"),
"table.column" for a joined table ("airlines.name").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from app.catalog import Column, Dataset, Key, Table
from app.planners.offline.english import CALENDAR, UNIT_SUFFIX


@dataclass(frozen=True)
class Phrase:
    text: str
    column: str  # column key
    weak: bool = False


@dataclass
class Vocabulary:
    dataset: Dataset
    columns: dict[str, Column] = field(default_factory=dict)
    values: dict[str, list[Any]] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)  # column key -> table name
    phrases: list[Phrase] = field(default_factory=list)  # longest first
    value_phrases: list[tuple[str, str, Any]] = field(default_factory=list)  # text, key, value
    null_phrases: list[tuple[str, str]] = field(default_factory=list)  # text, key: key is empty
    # text, key, operator, number: "arrived late" -> arr_delay > 0
    condition_phrases: list[tuple[str, str, str, float]] = field(default_factory=list)
    nouns: list[str] = field(default_factory=list)
    joins: dict[str, list[Key]] = field(default_factory=dict)  # joined table -> keys
    # first word -> indexes into phrases / value_phrases: the tokenizer only tries the
    # phrases whose first word is in the question (fast with many large vocabularies)
    phrase_index: dict[str, list[int]] = field(default_factory=dict)
    value_index: dict[str, list[int]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.dataset.name

    @property
    def main(self) -> Table:
        return self.dataset.main

    def column(self, key: str | None) -> Column | None:
        return self.columns.get(key or "")

    def calendar(self, part: str) -> str | None:
        """The main table's column for a calendar part ("year", "month"), if any."""
        return next((c.name for c in self.main.columns if c.name.lower() == part), None)

    def is_calendar(self, key: str | None) -> bool:
        return (key or "").split(".")[-1].lower() in CALENDAR

    def values_of(self, key: str) -> list[Any]:
        return self.values.get(key, [])


def spaced(name: str) -> str:
    """lifeExp -> "life exp", body_mass_g -> "body mass g"."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " ").lower()


def _own_names(c: Column) -> set[str]:
    """The ways a column is named without any synonym: its name, spelled with spaces,
    without its unit suffix, in the plural, and its meaning up to the unit."""
    words = spaced(c.name)
    no_unit = re.sub(UNIT_SUFFIX, "", words)
    names = {c.name.lower(), words, no_unit}
    names |= {n + "s" for n in (words, no_unit) if not n.endswith("s")}
    meaning = (c.description or "").split(";")[0]
    head = re.split(r"[,:(]| in | of the | as ", meaning.lower())[0].strip()
    if 0 < len(head.split()) <= 3 and head not in ("a", "the"):
        names.add(head)
    return names


def _column_phrases(c: Column, key: str, table: Table | None) -> list[Phrase]:
    """Phrases for one column; `table` is set for a joined table, whose columns are only
    named with the table's noun in front ("airline name") or by their synonyms."""
    if table is None:
        strong = _own_names(c) | set(c.synonyms)
    else:
        nouns = set(table.nouns) or {table.name, table.name.rstrip("s")}
        strong = {f"{n} {w}" for n in nouns for w in (spaced(c.name),
                                                      re.sub(UNIT_SUFFIX, "", spaced(c.name)))}
        strong |= set(c.synonyms)
    out = [Phrase(p, key) for p in sorted(strong) if p and p not in c.weak_synonyms]
    return out + [Phrase(p, key, weak=True) for p in c.weak_synonyms]


def _add_table(v: Vocabulary, table: Table, joined: bool) -> None:
    # Derived columns are expressions over the main table's own columns: not offered
    # for a joined table, whose columns the expression would not name.
    for c in table.columns + ([] if joined else table.derived):
        key = f"{table.name}.{c.name}" if joined else c.name
        v.columns[key] = c
        v.tables[key] = table.name
        if c.name in table.values:
            v.values[key] = table.values[c.name]
        v.phrases.extend(_column_phrases(c, key, table if joined else None))
        v.null_phrases.extend((p, key) for p in c.null_phrases)
        v.condition_phrases.extend((p, key, *_condition(text)) for p, text in c.condition_phrases)
        for alias, value in c.value_aliases:
            v.value_phrases.append((alias, key, value))
        for value in table.values.get(c.name, []):
            if isinstance(value, str) and len(value) >= 2 and re.search(r"[A-Za-z]", value):
                v.value_phrases.append((value, key, value))


def _condition(text: str) -> tuple[str, float]:
    """"> 0" -> (">", 0); the manifest schema has checked the shape."""
    m = re.match(r"^(>=|<=|>|<|=) ?(-?[0-9]+(?:\.[0-9]+)?)$", text)
    assert m is not None, text
    number = float(m.group(2))
    return m.group(1), int(number) if number.is_integer() else number


def first_word(text: str) -> str:
    words = re.findall(r"\w+", text.lower())
    return words[0] if words else ""


def _index(texts: list[str]) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        index.setdefault(first_word(text), []).append(i)
    return index


def _dedupe_phrases(phrases: list[Phrase]) -> list[Phrase]:
    seen: dict[str, Phrase] = {}
    for p in phrases:  # the main table's phrases come first and win
        seen.setdefault(p.text, p)
    return sorted(seen.values(), key=lambda p: (-len(p.text), p.text))


def _build(ds: Dataset) -> Vocabulary:
    v = Vocabulary(ds)
    _add_table(v, ds.main, joined=False)
    for key in ds.keys:
        if key.table == ds.main.name and ds.table(key.other):
            v.joins.setdefault(key.other, []).append(key)
    for name in v.joins:
        _add_table(v, ds.table(name), joined=True)  # type: ignore[arg-type]
    v.phrases = _dedupe_phrases(v.phrases)
    # longest first, so "Congo, Dem. Rep." beats "Congo"; the main table wins ties
    v.value_phrases.sort(key=lambda t: -len(t[0]))
    v.condition_phrases.sort(key=lambda t: -len(t[0]))
    v.phrase_index = _index([p.text for p in v.phrases])
    v.value_index = _index([t[0] for t in v.value_phrases])
    v.nouns = sorted({ds.name, ds.name.rstrip("s"), *ds.nouns, *ds.main.nouns},
                     key=len, reverse=True)
    return v


# Built once per loaded dataset (the catalog is loaded once at start-up); the entry
# holds the dataset too, so an id is never reused for another one while cached.
_BUILT: dict[int, tuple[Dataset, Vocabulary]] = {}


def vocabulary(ds: Dataset) -> Vocabulary:
    """The vocabulary of a dataset."""
    hit = _BUILT.get(id(ds))
    if hit is None or hit[0] is not ds:
        hit = _BUILT[id(ds)] = (ds, _build(ds))
    return hit[1]

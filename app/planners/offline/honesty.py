"""The honesty rule: every word of the question is used by the reading or explicitly
ignorable; a word left over (that could be a condition, a measure or a grouping the
planner did not understand) means no answer, but a question back.

A word is ignorable when it is a stop word, a word of the planner's own English
(english.py: aggregates, superlatives, comparisons, months, units), a preposition
the manifest declares, or a noun of the dataset. Anything else is left over, and the
planner asks back with the closest value or column phrase of the manifest ("Did you
mean species = 'Gentoo'?") instead of answering a question it did not read.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any

from app.planners.base import Choice, Clarify
from app.planners.offline import english as en
from app.planners.offline.shares import SHARE_WORDS

if TYPE_CHECKING:
    from app.planners.offline.reading import Question, Reading
    from app.planners.offline.vocabulary import Vocabulary

# Words that carry no condition, measure or grouping, including how people type them.
_STOP_TEXT = """
a about all also an and any are as at be been being can could data dataset did do does
doing done for from get give go had has have having here how i in into is it its just
let like me my of on or our please r record recorded records row rows shown show so
tell than that the their them then there these they this those to u up us use used
want was we were what whats what's when where which who whom whose why will with
within would you your ur thx thanks pls plz kindly there's is there are there
each every per across by between versus vs compared compare comparison
value values number numbers amount many much count counts figure s
list table overall everything w
live lives lived living fly flies flew flying fly go goes went going leave leaves left
leaving depart departed departing operate operated operating observed seen see found
happen happened occur occurred take took taken run ran make made exist exists flown
received receive receives ones one someone anything ever total all-time
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


def _english() -> set[str]:
    words: set[str] = set()
    for group in (en.AGGREGATES, en.HIGH, en.LOW, en.GROUP_WORDS, en.FILLER, en.LIST_WORDS,
                  en.LISTING_WORDS, en.EXPLICIT_LIST_WORDS, en.NUMBER_WORDS, en.SCALES, en.MONTHS,
                  en.YEAR_PREPOSITIONS, en.UNIT_WORDS, en.CALENDAR):
        words.update(group)
    for phrases in (en.MORE, en.LESS, en.COUNTING, en.MOST_COMMON, en.LEAST_COMMON):
        for phrase in phrases:
            words.update(phrase.split())
    return words


KNOWN = frozenset(_english()) | STOP_WORDS


def _prepositions(v: Vocabulary) -> set[str]:
    words: set[str] = set()
    for c in v.columns.values():
        words.update(c.prepositions)
    for keys in v.joins.values():
        for k in keys:
            words.update(k.prepositions)
    return words


def _read_words(r: Reading) -> set[str]:
    """Every word of the phrases naming a column the reading uses ("departure" of
    "departure delay" when dep_delay is used)."""
    used = set(r.columns())
    return {w for p in r.vocab.phrases if p.column in used for w in p.text.split()}


def _is_read(word: str, read_words: set[str]) -> bool:
    """The word, its plural or a near spelling of it ("lenght") names a used column."""
    if word in read_words or word.rstrip("s") in read_words or word[:-2] in read_words:
        return True
    return bool(len(word) > 4 and difflib.get_close_matches(word, read_words, n=1, cutoff=0.8))


def _qualifies(r: Reading, q: Question, i: int) -> bool:
    """A column mention that is a unit after a number ("2 hours") or a noun after a
    value ("Asian countries"), not a column of its own. A measure after a value ("JFK
    arrived late") is not a noun: it is a condition or a measure left unread."""
    before = q.tokens[i - 1] if i > 0 else None
    if before is None:
        return False
    column = r.vocab.column(q.tokens[i].column)
    noun = column is not None and not column.is_numeric
    return (before.kind == "val" and noun) or (
        before.kind == "num" and q.tokens[i].text in en.UNIT_WORDS)


def _shows_rows(r: Reading) -> bool:
    """Rows themselves (a listing, the top rows by a metric, a look-up), not aggregates."""
    plain = bool(r.metrics and not r.group and not r.count and r.agg is None)
    return r.listing or (plain and bool(r.limit if r.direction else r.filters))


def _joined_nouns(r: Reading) -> set[str]:
    """The nouns of the tables the reading joins ("planes" once planes.manufacturer is
    used): they name the joined rows, not a column of their own."""
    nouns: set[str] = set()
    for name in r.joins:
        table = r.vocab.dataset.table(name)
        nouns.update((table.nouns if table else ()) or (name,))
    return nouns


def _unread(r: Reading, q: Question, i: int, ignorable: set[str], read_words: set[str],
            used: set[str]) -> bool:
    t = q.tokens[i]
    if t.kind == "word":
        return t.text not in ignorable and not t.text.isdigit() \
            and not _is_read(t.text, read_words)
    return t.kind == "col" and t.column not in used and not t.weak \
        and not _qualifies(r, q, i) and t.text not in q.joined_nouns


def _words_of_the_reading(r: Reading) -> set[str]:
    """Words that were read when the reading has the part they express."""
    parts = (
        (any(f[1] == "is null" for f in r.filters + [r.share or ("", "", None)]),
         # "missing", "no recorded"
         en.MISSING | en.MISSING_WEAK | en.MISSING_RECORD),
        (r.difference, en.CHANGE_WORDS | en.FALL_WORDS | en.GAP_WORDS),  # "grew", "gap"
        (r.group, en.GROUPING_VERBS | {"down"}),  # "grouped by", "broken down by"
        (r.threshold, en.FIRST_WORDS | en.LAST_WORDS),  # "first", "last"
    )
    return {w for present, words in parts if present for w in words}


def leftover(r: Reading, q: Question) -> list[str]:
    """Words of the question the reading neither used nor may ignore, and column
    mentions it gave no role ("richest country" read without the country)."""
    ignorable = KNOWN | _prepositions(r.vocab) | {n.lower() for n in r.vocab.nouns}
    ignorable |= _words_of_the_reading(r) | q.read
    read_words, used = _read_words(r), set(r.columns())
    q.joined_nouns = _joined_nouns(r)
    if _shows_rows(r):  # whole rows are shown: every column the question names is there
        used |= {k for k in r.vocab.columns if "." not in k}
    out = [t.text for i, t in enumerate(q.tokens) if _unread(r, q, i, ignorable, read_words, used)]
    if r.share:  # the share words were read
        return [w for w in out if w not in SHARE_WORDS]
    return out + (["%"] if "%" in q.text else [])


def _candidates(v: Vocabulary) -> dict[str, str]:
    """Lower-case phrase -> what to propose: a value ("species = 'Gentoo'") or a column."""
    out: dict[str, str] = {}
    for text, key, value in v.value_phrases:
        shown = f"'{value}'" if isinstance(value, str) else str(value)
        out.setdefault(text.lower(), f"{key} = {shown}")
    for p in v.phrases:
        out.setdefault(p.text.lower(), f"the column {p.column}")
    return out


def closest(word: str, v: Vocabulary) -> tuple[str, str] | None:
    """(phrase, proposal) for the manifest phrase closest to a left-over word: its
    singular ("gentoos" -> Gentoo), else a near spelling ("lenght" -> length)."""
    candidates = _candidates(v)
    for form in (word, word.rstrip("s"), re.sub(r"(es|s)$", "", word),
                 re.sub(r"ies$", "y", word)):
        if form in candidates:
            return form, candidates[form]
    words = {w: phrase for phrase in candidates for w in phrase.split()}
    near = difflib.get_close_matches(word, list(words), n=1, cutoff=0.8)
    if near:
        phrase = words[near[0]]
        return near[0], candidates[phrase]
    return None


def plural_values(question: str, words: list[str], v: Vocabulary) -> str | None:
    """The question with plural or lower-case values written as the data has them
    ("gentoos" -> Gentoo), when every left-over word is one; else None."""
    candidates = {t.lower(): t for t, _key, _value in v.value_phrases
                  if not (t.isupper() and len(t) <= 3)}  # "hours" is not HOU
    fixed = question
    for word in words:
        singular = next((candidates[f] for f in (word[:-1], word[:-2]) if f in candidates), None)
        if singular is None or not word.endswith("s"):
            return None
        fixed = re.sub(r"(?i)(?<![\w])" + re.escape(word) + r"(?![\w])", singular, fixed)
    return fixed


def _replace(question: str, word: str, phrase: str) -> str:
    return re.sub(r"(?i)(?<![\w])" + re.escape(word) + r"(?![\w])", phrase, question)


def _near_values(word: str, values: dict[str, Any]) -> list[str]:
    """The value phrases a left-over word is a form or a near spelling of."""
    forms = [f for f in (word, word.rstrip("s"), re.sub(r"(es|s)$", "", word)) if f]
    return [f for f in forms if f in values] or difflib.get_close_matches(
        word, list(values), n=3, cutoff=0.75)


def _at_nearest(question: str, words: list[str], v: Vocabulary) -> str:
    """The question with each of `words` replaced by its nearest value phrase."""
    for word in words:
        found = closest(word, v)
        if found and not found[1].startswith("the column"):
            question = _replace(question, word, found[0])
    return question


def clarify(question: str, words: list[str], v: Vocabulary) -> Clarify | None:
    """The question back, with choices: the values of the manifest nearest the first
    left-over word that is near one ("gentos" -> species = 'Gentoo'); each choice asks
    the question with that value (and the other left-over words at their nearest)."""
    values = {text.lower(): (text, f"{key} = " + (f"'{value}'" if isinstance(value, str)
                                                   else str(value)))
              for text, key, value in v.value_phrases}
    for n, word in enumerate(words):
        near = _near_values(word, values)
        if not near:
            continue
        rest = _at_nearest(question, words[n + 1:], v)
        labels = dict.fromkeys(values[m][1] for m in near)  # "europe", "european": one
        text = {values[m][1]: values[m][0] for m in reversed(near)}
        choices = [Choice(label, _replace(rest, word, text[label])) for label in labels]
        asked = (f"Did you mean {choices[0].label}?" if len(choices) == 1
                 else f"By '{word}', did you mean one of these?")
        return Clarify(asked, choices)
    return None


def ask_back(question: str, words: list[str], v: Vocabulary) -> tuple[str, list[str]]:
    """The message and the corrected questions for the words left over."""
    proposals, fixed = [], question
    for word in words:
        found = closest(word, v)
        if found and found[0] == word and found[1].startswith("the column"):  # no role
            proposals.append(f"'{word}' names {found[1]}, but I did not find its role here.")
        elif found:
            phrase, proposal = found
            proposals.append(f"by '{word}' did you mean {proposal}?")
            fixed = re.sub(r"(?i)(?<![\w])" + re.escape(word) + r"(?![\w])", phrase, fixed)
    unknown = ", ".join(f"'{w}'" for w in words)
    message = (f"I did not understand {unknown} in this question about {v.name}, so I did "
               "not guess an answer.")
    if proposals:
        message += " " + " ".join(p[0].upper() + p[1:] for p in proposals)
    return message, ([fixed] if fixed != question else [])

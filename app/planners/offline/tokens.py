"""A question as tokens: values found in the data, column mentions, words naming the
dataset's rows, numbers and the remaining words, each at its place in the text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.planners.offline.english import CODE_CONTEXT, NUMBER_WORDS, SCALES, SHORT_WORDS
from app.planners.offline.vocabulary import Vocabulary


@dataclass
class Token:
    # "col" | "val" | "num" | "word" | "ds" (a word naming the dataset's rows) | "null"
    # (a word the manifest says means a column is empty: "cancelled") | "cond" (words the
    # manifest says mean a condition: "arrived late")
    kind: str
    text: str  # the words as written (lower-case)
    start: int
    end: int
    column: str | None = None  # col and val tokens: the column key
    value: Any = None  # val and num tokens
    weak: bool = False


class _Text:
    """The question with the spans already claimed by a token."""

    def __init__(self, question: str) -> None:
        self.question = question
        self.low = question.lower()
        self.taken = [False] * len(question)
        self.words = set(re.findall(r"\w+", self.low))

    def candidates(self, index: dict[str, list[int]]) -> list[int]:
        """Indexes of the phrases that may occur (their first word does), in order."""
        return sorted(i for word in self.words for i in index.get(word, ()))

    def claim(self, phrase: str, exact: bool = False,
              after: frozenset[str] | None = None) -> list[tuple[int, int]]:
        """Every free whole-word occurrence of `phrase` (right after one of the words
        `after`, when given), now taken."""
        text = self.question if exact else self.low
        if (phrase if exact else phrase.lower()) not in text:
            return []  # the common case, and far cheaper than a regex per phrase
        pattern = r"(?<![\w])" + re.escape(phrase if exact else phrase.lower()) + r"(?![\w])"
        spans = []
        for m in re.finditer(pattern, text):
            before = re.findall(r"\w+", text[:m.start()])[-1:]
            if after is not None and (before[0].lower() if before else "") not in after:
                continue
            if not any(self.taken[m.start():m.end()]):
                self.taken[m.start():m.end()] = [True] * (m.end() - m.start())
                spans.append((m.start(), m.end()))
        return spans


def _values(text: _Text, v: Vocabulary) -> list[Token]:
    tokens = []
    for i in text.candidates(v.value_index):
        phrase, key, value = v.value_phrases[i]
        # Short upper-case codes match as written; in lower case only right after a
        # preposition and when not an English word: "from jfk" is JFK, "as" or "us"
        # in a sentence is not a carrier, "per day" is not Dayton.
        code = phrase.isupper() and len(phrase) <= 3
        spans = text.claim(phrase, exact=code)
        if code and phrase.lower() not in SHORT_WORDS:  # "from jfk", never "per day"
            spans += text.claim(phrase, after=CODE_CONTEXT)
        for start, end in spans:
            tokens.append(Token("val", text.low[start:end], start, end, key, value))
    return tokens


def _nulls(text: _Text, v: Vocabulary) -> list[Token]:
    return [Token("null", phrase, start, end, key)
            for phrase, key in v.null_phrases for start, end in text.claim(phrase)]


def _conditions(text: _Text, v: Vocabulary) -> list[Token]:
    return [Token("cond", phrase, start, end, key, value=(op, number))
            for phrase, key, op, number in v.condition_phrases
            for start, end in text.claim(phrase)]


def _columns(text: _Text, v: Vocabulary, multi: bool) -> list[Token]:
    tokens = []
    for i in text.candidates(v.phrase_index):
        p = v.phrases[i]
        if (" " in p.text) == multi:
            for start, end in text.claim(p.text):
                tokens.append(Token("col", p.text, start, end, p.column, weak=p.weak))
    return tokens


def _nouns(text: _Text, v: Vocabulary) -> list[Token]:
    return [Token("ds", noun, start, end)
            for noun in v.nouns for start, end in text.claim(noun)]


def _rest(text: _Text) -> list[Token]:
    tokens = []
    for m in re.finditer(r"[a-z0-9]+(?:\.[0-9]+)?", text.low):
        if any(text.taken[m.start():m.end()]):
            continue
        word = m.group()
        if re.fullmatch(r"[0-9]+(\.[0-9]+)?", word):
            num: float | int = float(word) if "." in word else int(word)
            tokens.append(Token("num", word, m.start(), m.end(), value=num))
        elif word in NUMBER_WORDS:
            tokens.append(Token("num", word, m.start(), m.end(), value=NUMBER_WORDS[word]))
        else:
            tokens.append(Token("word", word, m.start(), m.end()))
    return tokens


def tokenize(question: str, v: Vocabulary) -> list[Token]:
    """Values first (longest first), then the words meaning a condition or an empty
    column, then
    multi-word column phrases, then words naming the dataset's rows ("flights" before
    the column "flight", after "flight number"), then one-word column names, then
    numbers and words."""
    text = _Text(question)
    tokens = _values(text, v) + _conditions(text, v) + _nulls(text, v)
    tokens += _columns(text, v, multi=True) + _nouns(text, v)
    tokens += _columns(text, v, multi=False) + _rest(text)
    tokens.sort(key=lambda t: t.start)
    return _scaled(tokens)


def _scaled(tokens: list[Token]) -> list[Token]:
    """"1 billion", "2.5 million": one number."""
    out: list[Token] = []
    for t in tokens:
        prev = out[-1] if out else None
        if t.kind == "word" and t.text in SCALES and prev is not None and prev.kind == "num":
            value = prev.value * SCALES[t.text]
            value = int(value) if float(value).is_integer() else value
            out[-1] = Token("num", f"{prev.text} {t.text}", prev.start, t.end, value=value)
        else:
            out.append(t)
    return out

"""The rules that read a question, in the order `reading.read` applies them. Each one
looks at the tokens and fills one part of the Reading; later rules see what earlier
ones decided (a column used as a filter is not also a metric)."""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any

from app.planners.offline import english as en
from app.planners.offline.differences import difference
from app.planners.offline.thresholds import threshold
from app.planners.offline.tokens import Token

if TYPE_CHECKING:
    from app.planners.offline.reading import Question, Reading
    from app.planners.offline.vocabulary import Vocabulary


def _has_phrase(low: str, phrases: list[str] | tuple[str, ...]) -> bool:
    return any(re.search(r"(?<![\w])" + re.escape(p) + r"(?![\w])", low) for p in phrases)


def _prev(tokens: list[Token], i: int) -> str:
    return tokens[i - 1].text if i > 0 else ""


def _is_numeric(v: Vocabulary, key: str | None) -> bool:
    c = v.column(key)
    return c is not None and c.is_numeric


def _is_metric(v: Vocabulary, key: str | None) -> bool:
    return _is_numeric(v, key) and not v.is_calendar(key)


def _groupable(v: Vocabulary, key: str | None) -> bool:
    c = v.column(key)
    return c is not None and (c.is_text or v.is_calendar(key) or key in v.values)


def _countable(v: Vocabulary, key: str | None) -> bool:
    c = v.column(key)
    return c is not None and c.is_text


def _add_group(r: Reading, q: Question, j: int) -> None:
    col = q.tokens[j].column
    if col and col not in r.group:
        r.group.append(col)
    q.used.add(j)


def _next_col(tokens: list[Token], i: int) -> int | None:
    """Index of the column token right after position i, skipping filler words."""
    j = i + 1
    while j < len(tokens) and tokens[j].kind == "word" and tokens[j].text in en.FILLER:
        j += 1
    return j if j < len(tokens) and tokens[j].kind == "col" else None


# --- filters ------------------------------------------------------------------------------


def value_filters(r: Reading, q: Question) -> None:
    """Values found in the data; a preposition the manifest declares ("to JFK") picks
    among the columns holding the value."""
    v = r.vocab
    for i, t in enumerate(q.tokens):
        if t.kind != "val":
            continue
        col = t.column
        prev = _prev(q.tokens, i)
        for key, values in v.values.items():
            c = v.column(key)
            if t.value in values and c is not None and prev in c.prepositions:
                col = key
                break
        assert col is not None
        if (col, "=", t.value) not in r.filters:
            r.filters.append((col, "=", t.value))


def _word_at(tokens: list[Token], j: int, step: int, skip: set[str]) -> Token | None:
    """The first word from position j in direction step that is not in skip."""
    while 0 <= j < len(tokens) and tokens[j].kind == "word" and tokens[j].text in skip:
        j += step
    return tokens[j] if 0 <= j < len(tokens) and tokens[j].kind == "word" else None


def _said_missing(r: Reading, q: Question, i: int) -> bool:
    """"no recorded sex", "missing body mass", "tailnum unknown", "without a sex"."""
    tokens = q.tokens
    before = _word_at(tokens, i - 1, -1, en.MISSING_SKIP)
    after = _word_at(tokens, i + 1, 1, {"is", "was", "are", "were", "not"})
    if (before and before.text in en.MISSING) or (after and after.text in en.MISSING):
        return True
    if not (before and before.text in en.MISSING_WEAK):
        return False
    near = {x.text for x in tokens[max(0, i - 3):i + 2] if x.kind == "word"}
    return _countable(r.vocab, tokens[i].column) or bool(near & en.MISSING_RECORD)


def stated_conditions(r: Reading, q: Question) -> None:
    """Words the manifest declares as a condition: "arrived late" is arr_delay > 0."""
    for t in q.tokens:
        if t.kind == "cond" and (t.column, *t.value) not in r.filters:
            r.filters.append((t.column, *t.value))  # type: ignore[arg-type]


def missing(r: Reading, q: Question) -> None:
    """Rows where a column is empty: said in words ("no recorded sex") or with a word the
    manifest declares for it ("cancelled" for a departure time)."""
    for i, t in enumerate(q.tokens):
        named = t.kind == "col" and i not in q.used and _said_missing(r, q, i)
        if t.kind == "null" or named:
            if (t.column, "is null", None) not in r.filters:
                r.filters.append((t.column, "is null", None))  # type: ignore[arg-type]
            q.used.add(i)


def _year_filter(r: Reading, q: Question, i: int, t: Token) -> bool:
    year_col = r.vocab.calendar("year")
    prev = _prev(q.tokens, i)
    is_year = (
        year_col is not None and isinstance(t.value, int)
        and (t.value in r.vocab.values_of(year_col)
             or (1800 <= t.value <= 2100 and prev in en.YEAR_PREPOSITIONS))
    )
    if not is_year:
        return False
    if not (prev == "between" or (prev == "and" and i >= 2 and q.tokens[i - 2].kind == "num")):
        r.filters.append((year_col, en.YEAR_OPERATORS.get(prev, "="), t.value))
    return True  # a "between" pair is handled by between_years


def _day_of_month(r: Reading, q: Question, i: int, t: Token) -> bool:
    """"feb 14", "march 3": the day of the month, when the data has one."""
    day_col = r.vocab.calendar("day")
    after_month = i > 0 and q.tokens[i - 1].kind == "word" and month_of(q.tokens[i - 1].text)
    if not (day_col and after_month and isinstance(t.value, int) and 1 <= t.value <= 31):
        return False
    r.filters.append((day_col, "=", t.value))
    return True


def _converted(value: float, written: str, column_unit: str) -> float:
    """1000 m against a column in feet -> 3280.84; 2 hours against minutes -> 120."""
    factor = en.CONVERSIONS.get((written, column_unit.lower()))
    if factor is None:
        return value
    converted = value * factor
    return int(converted) if float(converted).is_integer() else round(converted, 2)


def _nearest_numeric(q: Question, i: int, v: Vocabulary) -> str | None:
    """The numeric column a comparison is about: the closest one before the number
    ("delay over 60 minutes"), else the closest after it ("more than 1000 miles")."""
    best: tuple[int, str] | None = None
    for j, t in enumerate(q.tokens):
        if t.kind != "col" or j in q.used or not _is_numeric(v, t.column):
            continue
        if t.column.split(".")[-1].lower() in ("year", "month"):  # type: ignore[union-attr]
            continue
        dist = (i - j) if j < i else (j - i) + 100
        if best is None or dist < best[0]:
            best = (dist, t.column)  # type: ignore[assignment]
    return best[1] if best else None


def _comparison(r: Reading, q: Question, i: int, t: Token, cmp: str) -> bool:
    after = q.tokens[i + 1] if i + 1 < len(q.tokens) else None
    unit = en.UNIT_WORDS.get(after.text) if after else None
    named = r.vocab.column(after.column) if after and after.kind == "col" else None
    if unit and not (named and named.unit == unit):
        q.used.add(i + 1)  # "2 hours" is a unit, not the column "hour"; "miles" may be both
    col = _nearest_numeric(q, i, r.vocab)
    if not col:
        return False
    column = r.vocab.column(col)
    value = _converted(t.value, unit, column.unit) if unit and column else t.value
    r.filters.append((col, cmp, value))
    q.used.update(j for j, x in enumerate(q.tokens)
                  if x.kind == "col" and x.column == col and abs(j - i) <= 4)
    return True


def numbers(r: Reading, q: Question) -> None:
    """Years, comparisons ("over 60 minutes") and the N of "top N"."""
    for i, t in enumerate(q.tokens):
        if t.kind != "num":
            continue
        before = q.low[max(0, t.start - 16):t.start].rstrip()
        cmp = ">" if before.endswith(en.MORE) else "<" if before.endswith(en.LESS) else None
        if cmp is None and (_year_filter(r, q, i, t) or _day_of_month(r, q, i, t)):
            continue
        if cmp and _comparison(r, q, i, t, cmp):
            continue
        if isinstance(t.value, int) and 0 < t.value <= 1000 and r.limit is None:
            r.limit = t.value


def between_years(r: Reading, q: Question) -> None:
    between = re.search(r"between (\d{4}) and (\d{4})", q.low)
    year_col = r.vocab.calendar("year")
    if between and year_col:
        r.filters.append((year_col, "between", (int(between.group(1)), int(between.group(2)))))


def month_of(word: str) -> int | None:
    """"march", "mar", "febuary" (a near spelling of a long name) -> the month number."""
    if word in en.MONTHS:
        return en.MONTHS.index(word) + 1
    if word in en.MONTH_ABBREVIATIONS:
        return en.MONTH_ABBREVIATIONS[word]
    near = difflib.get_close_matches(word, en.MONTHS, n=1, cutoff=0.85) if len(word) > 5 else []
    return en.MONTHS.index(near[0]) + 1 if near else None


def months(r: Reading, q: Question) -> None:
    month_col = r.vocab.calendar("month")
    if not month_col:
        return
    modal_may = bool(re.search(r"\bmay (i|we|you|be|have)\b", q.low))
    for t in q.tokens:
        index = month_of(t.text) if t.kind == "word" else None
        if index and not (t.text == "may" and modal_may):
            q.read.add(t.text)
            if (month_col, "=", index) not in r.filters:
                r.filters.append((month_col, "=", index))


# --- order, groups, counts -------------------------------------------------------------------


def direction(r: Reading, q: Question) -> None:
    """Superlatives and ordering words."""
    words = q.words
    if words & en.HIGH or "top" in words:
        r.direction = "desc"
    if words & en.LOW or "bottom" in words:
        r.direction = "asc" if not (words & en.HIGH) or "bottom" in words else r.direction
    if ("top" in words or "bottom" in words) and r.limit is None:
        r.limit = en.DEFAULT_TOP
    if _has_phrase(q.low, en.MOST_COMMON):
        r.direction, r.count = "desc", "*"
    if _has_phrase(q.low, en.LEAST_COMMON):
        r.direction, r.count = "asc", "*"


def _agent(tokens: list[Token], i: int) -> bool:
    """"operated by", "made by": the "by" of a passive verb names who did it, not a
    grouping ("grouped by", "broken down by" do group)."""
    before = tokens[i - 1].text if i > 0 and tokens[i - 1].kind == "word" else ""
    return (before.endswith("ed") or before in en.IRREGULAR_PARTICIPLES) \
        and before not in en.GROUPING_VERBS


def groups(r: Reading, q: Question) -> None:
    """"by X", "per X", "for each X", "across X", and "and Y" after those."""
    tokens = q.tokens
    for i, t in enumerate(tokens):
        if t.kind != "word" or t.text not in en.GROUP_WORDS:
            continue
        j = _next_col(tokens, i)
        if j is None or j in q.used:
            continue
        if t.text == "by" and (_is_metric(r.vocab, tokens[j].column) or _agent(tokens, i)):
            continue  # "top 5 destinations by number of flights", "flown by planes made ..."
        _add_group(r, q, j)
        k = j + 1
        while k + 1 < len(tokens) and tokens[k].text == "and" and tokens[k + 1].kind == "col" \
                and _groupable(r.vocab, tokens[k + 1].column):
            _add_group(r, q, k + 1)
            k += 2


def time_groups(r: Reading, q: Question) -> None:
    month_col, year_col = r.vocab.calendar("month"), r.vocab.calendar("year")
    for phrase, col in (("monthly", month_col), ("yearly", year_col), ("annual", year_col),
                        ("over time", year_col), ("each year", year_col)):
        if col and phrase in q.low and col not in r.group and not any(
                f[0] == col and f[1] == "=" for f in r.filters):
            r.group.append(col)


def _token_after(q: Question, end: int) -> int | None:
    return next((j for j, t in enumerate(q.tokens) if t.start >= end), None)


def counts(r: Reading, q: Question) -> None:
    """"how many X" / "number of X" / "count of X": rows, or distinct values of X."""
    q.counting = _has_phrase(q.low, en.COUNTING)
    if not (q.counting or r.count):
        return
    r.count = "*"
    m = re.search(r"(how many|number of|count of|count the|count)\s+(?:different |distinct |"
                  r"unique |the )?", q.low)
    nxt = _token_after(q, m.end()) if m else None
    if nxt is not None and nxt + 1 < len(q.tokens) and q.tokens[nxt].kind == "val":
        nxt += 1  # "how many asian countries": the noun after the value is counted
    if nxt is not None and q.tokens[nxt].kind == "col" and nxt not in q.used \
            and _countable(r.vocab, q.tokens[nxt].column):
        r.count = q.tokens[nxt].column
        q.used.add(nxt)


def most_distinct(r: Reading, q: Question) -> None:
    """"the most countries", "the fewest destinations": count the distinct values."""
    most = re.search(r"\b(most|fewest|least)\s+(?:different\s+|distinct\s+)?", q.low)
    if not most or r.metrics:
        return
    nxt = _token_after(q, most.end())
    if nxt is not None and q.tokens[nxt].kind == "col" and nxt not in q.used \
            and _countable(r.vocab, q.tokens[nxt].column):
        r.count = q.tokens[nxt].column
        r.direction = "desc" if most.group(1) == "most" else "asc"
        q.used.add(nxt)


def _singular(r: Reading, q: Question, t: Token) -> bool:
    """"which country" asks for one winner, "which countries" for a ranking. A word the
    same in both numbers ("species") is read from the verb after it."""
    if not t.text.endswith("s"):
        return True
    own = {p.text for p in r.vocab.phrases if p.column == t.column}
    if {t.text[:-1], t.text[:-2], t.text[:-3] + "y"} & own:  # destinations, countries
        return False
    return f"{t.text} are" not in q.low and f"{t.text} have" not in q.low


def _after_which(tokens: list[Token], i: int, prev_words: set[str]) -> bool:
    return bool(prev_words & {"which", "what", "top", "bottom"}) or (
        i > 0 and tokens[i - 1].kind == "num")


def which_groups(r: Reading, q: Question) -> None:
    """"which X had the highest ...", "top 5 X", "3 countries with the lowest ..."."""
    tokens = q.tokens
    aggregate = bool(q.words & set(en.AGGREGATES))
    for i, t in enumerate(tokens):
        if t.kind != "col" or i in q.used or not _groupable(r.vocab, t.column) \
                or t.column in r.group:
            continue
        prev_words = {x.text for x in tokens[max(0, i - 3):i] if x.kind in ("word", "num")}
        if _after_which(tokens, i, prev_words) and (r.direction or r.count or aggregate):
            # "top 3 countries ... in each continent": the ranking is within each group
            # an earlier rule found ("each", "per"), not across them
            r.per_group = bool(r.group) and r.limit is not None and "which" not in prev_words
            _add_group(r, q, i)
            r.singular_group = _singular(r, q, t)


def _beside_superlative(tokens: list[Token], i: int) -> bool:
    """"richest country", "busiest origin airport", "species with the longest ...":
    the superlative right before the column, or "with (the)" and it right after."""
    words = en.HIGH | en.LOW
    if i > 0 and tokens[i - 1].text in words:
        return True
    after = [x.text for x in tokens[i + 1:i + 4]]
    return bool(after) and after[0] == "with" and bool(set(after[1:3]) & words)


def superlative_groups(r: Reading, q: Question) -> None:
    """A superlative about a column that names groups, without "which": the ranking of
    those groups ("richest country in 2007" = the country with the highest value)."""
    measured = r.count or any(_metric_candidate(r, q, i, t) for i, t in enumerate(q.tokens))
    if not r.direction or r.group or not measured:
        return  # "the smallest country": nothing says smallest in what
    for i, t in enumerate(q.tokens):
        if t.kind == "col" and i not in q.used and _groupable(r.vocab, t.column) \
                and _beside_superlative(q.tokens, i):
            _add_group(r, q, i)
            r.singular_group = _singular(r, q, t)
            return


def _metric_candidate(r: Reading, q: Question, i: int, t: Token) -> bool:
    v = r.vocab
    return (t.kind == "col" and i not in q.used and t.column not in r.group
            and t.column not in r.metrics and _is_numeric(v, t.column)
            and not v.is_calendar(t.column))  # "hour of day" never averages the day


def metrics(r: Reading, q: Question) -> None:
    """The numeric columns still without a role; a weak mention ("late") only when no
    strong one names a metric."""
    strong = [x for x in q.tokens if x.kind == "col" and not x.weak
              and _is_numeric(r.vocab, x.column) and x.column not in r.group]
    for i, t in enumerate(q.tokens):
        if not _metric_candidate(r, q, i, t):
            continue
        if t.weak and any(x is not t for x in strong):
            continue
        r.metrics.append(t.column)  # type: ignore[arg-type]
        q.used.add(i)


def aggregate(r: Reading, q: Question) -> None:
    r.agg = next((en.AGGREGATES[t.text] for t in q.tokens
                  if t.kind == "word" and t.text in en.AGGREGATES), None)
    if r.metrics and r.count == "*" and not q.counting:
        r.count = None  # "most common" was about the metric after all
    if r.metrics and q.counting and r.count == "*" and r.agg is None:
        r.metrics = []  # "how many flights had a delay" keeps COUNT; the metric was a mention
    if r.group and not r.metrics and not r.count:
        r.count = "*"  # "flights per carrier", "which carrier has the most flights"


def _measured(r: Reading) -> bool:
    return bool(r.metrics or r.count or r.group)


def distinct_values(r: Reading, q: Question) -> None:
    """"which species live on Dream island", "list the continents"."""
    starts_with_column = bool(q.tokens) and q.tokens[0].kind == "col"  # "countries in asia"
    if _measured(r) or not (q.words & en.LIST_WORDS or "are there" in q.low
                            or starts_with_column):
        return
    filtered = {f[0] for f in r.filters if f[1] == "="}
    for i, t in enumerate(q.tokens):
        if (t.kind == "col" and i not in q.used and _groupable(r.vocab, t.column)
                and t.column not in r.distinct and t.column not in filtered):
            r.distinct.append(t.column)  # type: ignore[arg-type]


def listing(r: Reading, q: Question) -> None:
    """Nothing to measure: the rows themselves (filtered, or a few of them when the
    question only names the dataset)."""
    r.explicit_list = bool(q.words & en.EXPLICIT_LIST_WORDS)
    if _measured(r) or r.distinct:
        return
    if r.filters or q.words & en.LISTING_WORDS:
        r.listing = True
    elif any(t.kind == "ds" for t in q.tokens) and len(re.findall(r"\w+", q.low)) <= 3:
        r.listing, r.limit = True, r.limit or en.DEFAULT_TOP  # just "penguins": some rows


def merge_filters(r: Reading, q: Question) -> None:
    """Several values of one column ("1952 vs 2007", "Adelie and Gentoo") mean either of
    them, compared side by side: col IN (...) and a group by that column."""
    values: dict[str, list[Any]] = {}
    for col, op, value in r.filters:
        if op == "=":
            values.setdefault(col, []).append(value)
    merged: list[tuple[str, str, Any]] = []
    for col, op, value in r.filters:
        if op == "=" and len(values[col]) > 1:
            if (col, "in", tuple(values[col])) not in merged:
                merged.append((col, "in", tuple(values[col])))
                if (r.metrics or r.count) and col not in r.group:
                    r.group.append(col)
        else:
            merged.append((col, op, value))
    r.filters = merged


def sort_by(r: Reading, q: Question) -> None:
    sort = re.search(r"(?:sorted|ordered|order|sort)\s+by\s+", q.low)
    if not sort:
        return
    after = next((t for t in q.tokens if t.start >= sort.end() and t.kind == "col"), None)
    if after:
        r.order_by = after.column
        if "desc" in q.low:
            r.direction = "desc"


def join_keys(r: Reading, q: Question) -> None:
    """Which declared key joins each table the reading uses: the one whose prepositions
    come right before the table's noun ("flights to airports" -> dest), else the first."""
    v = r.vocab
    for table in {v.tables[k] for k in r.columns() if v.tables.get(k) in v.joins}:
        keys = v.joins[table]
        nouns = v.dataset.table(table).nouns or (table,)  # type: ignore[union-attr]
        pattern = r"\b(\w+)\s+(?:the\s+)?(?:" + "|".join(map(re.escape, nouns)) + r")\b"
        before = {m.group(1) for m in re.finditer(pattern, q.low)}
        r.joins[table] = next((i for i, k in enumerate(keys) if before & set(k.prepositions)), 0)


ORDER = (value_filters, stated_conditions, missing, numbers, between_years, months, direction, groups, time_groups,
         counts, most_distinct, which_groups, superlative_groups, metrics, aggregate, distinct_values, listing,
         difference, threshold, merge_filters, sort_by, join_keys)

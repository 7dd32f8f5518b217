"""The offline planner: deterministic, schema-aware question -> DuckDB SQL, no network.

It reads the question as a short sequence of tokens (column mentions, values found
in the data, numbers, words) and recognises the common analytic shapes:

    counts                 "how many flights left JFK in January?"
    aggregates             "average body mass of Adelie penguins", "total population ..."
    group by one or two    "... by species", "per carrier and origin", "for each continent"
    filters on data values "Adelie", "Europe", "JFK", "2007", "in March", "over 60 minutes"
    top / bottom N         "top 5 destinations by number of flights"
    ordering               "... highest first", "which continent had the highest ..."
    distinct values        "which species ...", "list the continents"
    per year or month      "number of flights per month"

Anything else gets a CannotPlan with questions it can answer for that dataset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from app.catalog import Catalog, Dataset
from app.planners.base import CannotPlan, Plan, Planner

# One canonical prompt per dataset: the UI shows them on the empty screen and
# `make smoke` asks them. Each must plan and return the right table.
CANONICAL = {
    "penguins": "What is the average body mass of penguins by species?",
    "gapminder": "Which continent had the highest average life expectancy in 2007?",
    "flights": "What are the top 5 destinations by number of flights?",
}

# Questions the planner answers, per dataset; shown when it cannot answer one.
EXAMPLES = {
    "penguins": [
        "What is the average body mass of penguins by species?",
        "How many penguins are there on each island?",
        "What is the average flipper length by species and sex?",
        "Which species live on Dream island?",
        "What is the maximum bill length of Gentoo penguins?",
    ],
    "gapminder": [
        "Which continent had the highest average life expectancy in 2007?",
        "What are the 3 countries with the lowest life expectancy in 2007?",
        "What was the total population of each continent in 2007?",
        "How many countries are there per continent?",
        "What was the average GDP per capita in Europe per year?",
    ],
    "flights": [
        "What are the top 5 destinations by number of flights?",
        "What is the average departure delay by carrier?",
        "How many flights left JFK per month?",
        "Which 3 airlines had the highest average arrival delay?",
        "How many flights from LGA to ATL were there?",
    ],
}

# Words that name a dataset's rows or the dataset itself.
DATASET_NOUNS = {
    "penguins": ["penguins", "penguin", "birds", "bird", "animals", "palmer"],
    "gapminder": ["gapminder", "observations"],
    "flights": ["flights", "flight", "departures", "nycflights", "nycflights13", "trips"],
}

# Extra names for columns (beyond the column name itself, spelled with spaces and
# without its unit suffix). Longest phrase wins, so "arrival delay" beats "delay".
COLUMN_SYNONYMS = {
    "body_mass_g": ["body mass", "mass", "weight", "weighs", "heavy", "heaviest", "lightest"],
    "bill_length_mm": ["bill length", "beak length", "culmen length", "bill"],
    "bill_depth_mm": ["bill depth", "beak depth", "culmen depth"],
    "flipper_length_mm": ["flipper length", "flipper", "flippers"],
    "species": ["species", "kind of penguin", "type of penguin"],
    "island": ["island", "islands"],
    "sex": ["sex", "gender"],
    "lifeExp": ["life expectancy", "lifespan", "life exp", "life"],
    "pop": ["population", "populations", "populous", "inhabitants", "people"],
    "gdpPercap": ["gdp per capita", "gdp per person", "gdp", "income", "wealth", "richest",
                  "poorest"],
    "country": ["country", "countries", "nation", "nations"],
    "continent": ["continent", "continents", "region", "regions"],
    "dep_delay": ["departure delay", "departure delays", "delay", "delays", "delayed", "late"],
    "arr_delay": ["arrival delay", "arrival delays", "arriving late", "arrived late"],
    "carrier": ["carrier", "carriers", "airline", "airlines"],
    "dest": ["destination", "destinations", "dest", "arrival airport", "arrival airports"],
    "origin": ["origin", "origins", "origin airport", "origin airports", "departure airport",
               "departure airports", "nyc airport", "nyc airports", "airport", "airports"],
    "distance": ["distance", "distances", "miles", "far", "longest flights"],
    "air_time": ["air time", "airtime", "flight time", "time in the air"],
    "tailnum": ["tail number", "tail numbers", "tailnum", "plane", "planes", "aircraft"],
    "flight": ["flight number", "flight numbers"],
    "dep_time": ["departure time", "departure times"],
    "arr_time": ["arrival time", "arrival times"],
    "year": ["year", "years", "yearly", "annual", "annually"],
    "month": ["month", "months", "monthly"],
    "day": ["day of month"],
    "hour": ["hour", "hours", "hourly"],
}
# Bare words too vague to name a column unless nothing better matches them.
WEAK_PHRASES = {"life", "people", "bill", "late", "far", "airport", "airports", "heavy"}

AGGREGATES = {
    "average": "avg", "avg": "avg", "mean": "avg", "typical": "avg",
    "sum": "sum", "total": "sum", "combined": "sum",
    "median": "median",
    "minimum": "min", "min": "min",
    "maximum": "max", "max": "max",
}
HIGH = {"highest", "largest", "biggest", "most", "greatest", "longest", "heaviest", "top",
        "best", "busiest", "richest", "maximum", "max", "max.", "oldest", "populous"}
LOW = {"lowest", "smallest", "least", "fewest", "shortest", "lightest", "bottom", "worst",
       "poorest", "minimum", "min"}
GROUP_WORDS = {"by", "per", "each", "every", "across"}
FILLER = {"the", "a", "an", "each", "every", "of", "their", "its", "single", "individual",
          "different"}
LIST_WORDS = {"which", "what", "list", "distinct", "unique", "different", "show", "name", "names"}
NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20,
}
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
MORE = ("more than", "greater than", "longer than", "over", "above", "at least", "exceeding",
        "bigger than", "higher than", "larger than")
LESS = ("less than", "fewer than", "shorter than", "under", "below", "at most", "lower than",
        "smaller than")
YEAR_PREPOSITIONS = {"in", "since", "from", "after", "before", "until", "through", "till",
                     "during", "of", "between", "and", "for"}
# Adjectives that name a value: "Asian countries" -> continent = 'Asia'.
VALUE_ALIASES = {
    "asian": "Asia", "european": "Europe", "african": "Africa", "american": "Americas",
    "oceanian": "Oceania", "males": "male", "females": "female",
}
UNIT_WORDS = {"hour", "hours", "minute", "minutes", "min", "mins", "grams", "gram", "g", "mm",
              "millimetres", "millimeters", "years", "dollars", "people"}
# What one row of a dataset is, for the name of a COUNT(*) column.
ROW_NOUNS = {"penguins": "penguins", "flights": "flights"}
DEFAULT_TOP = 10
# A group column with more distinct values than this answers "which X had the
# highest ..." with the single winner; with fewer, the whole ranking is shown.
SMALL_GROUP = 10
_SQL_START = re.compile(r"^\s*(select|with)\s+\S.*\b(from|select)\b", re.IGNORECASE | re.DOTALL)
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_RESERVED = {"select", "from", "where", "group", "order", "by", "limit", "table", "user",
             "all", "and", "or", "not", "as", "in", "is", "on", "to", "end", "case"}


def quote(name: str) -> str:
    """An identifier as DuckDB needs it: bare when plain lower-case, else double-quoted."""
    if _IDENT.match(name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def canonical_prompts(catalog: Catalog) -> list[dict[str, str]]:
    return [{"dataset": n, "question": CANONICAL[n]} for n in catalog.names if n in CANONICAL]


def suggestions_for(catalog: Catalog, dataset: str | None) -> list[str]:
    """3-5 questions this planner answers, for one dataset or across all of them."""
    if dataset and dataset in EXAMPLES:
        return list(EXAMPLES[dataset])
    if dataset and catalog.get(dataset):
        return _generated_examples(catalog.get(dataset))  # type: ignore[arg-type]
    known = [n for n in catalog.names if n in CANONICAL]
    if known:
        return [CANONICAL[n] for n in known] + [EXAMPLES[known[0]][1]]
    return _generated_examples(next(iter(catalog.datasets.values())))


def _generated_examples(ds: Dataset) -> list[str]:
    text = [c for c in ds.columns if c.name in ds.values and c.is_text]
    nums = [c for c in ds.columns if c.is_numeric and c.name.lower() != "year"]
    out = [f"How many rows does {ds.name} have?"]
    if text and nums:
        out.append(f"What is the average {nums[0].name} by {text[0].name} in {ds.name}?")
        out.append(f"Top 5 {text[0].name} by total {nums[0].name} in {ds.name}")
    if text:
        out.append(f"Which {text[0].name} values are in {ds.name}?")
    return out


# --- tokens -----------------------------------------------------------------------


@dataclass
class Token:
    kind: str  # "col" | "val" | "num" | "word" | "ds" (a word naming the dataset's rows)
    text: str  # the words as written (lower-case)
    start: int
    end: int
    column: str | None = None  # col and val tokens
    value: Any = None  # val and num tokens
    weak: bool = False


def _phrases(ds: Dataset) -> list[tuple[str, str, bool]]:
    """(phrase, column, weak) for every way the question may name a column of `ds`."""
    out: dict[str, tuple[str, bool]] = {}
    for c in ds.columns:
        base = c.name
        spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", base).replace("_", " ").lower()
        no_unit = re.sub(r" (mm|g|kg|cm|m|km|s|ms|pct)$", "", spaced)
        names = {base.lower(), spaced, no_unit}
        names |= {n + "s" for n in (spaced, no_unit) if not n.endswith("s")}
        names |= set(COLUMN_SYNONYMS.get(base, []))
        for d in (c.description or "").split(";")[:1]:
            # "body mass in grams" -> "body mass": the manifest's meaning up to the unit
            head = re.split(r"[,:(]| in | of the | as ", d.lower())[0].strip()
            if 0 < len(head.split()) <= 3 and head not in ("a", "the"):
                names.add(head)
        for n in names:
            if n and n not in out:
                out[n] = (base, n in WEAK_PHRASES)
    return sorted(((p, col, weak) for p, (col, weak) in out.items()),
                  key=lambda t: (-len(t[0]), t[0]))


def _free(taken: list[bool], start: int, end: int) -> bool:
    return not any(taken[start:end])


def _mark(taken: list[bool], start: int, end: int) -> None:
    for i in range(start, end):
        taken[i] = True


def tokenize(question: str, ds: Dataset) -> list[Token]:
    low = question.lower()
    taken = [False] * len(low)
    tokens: list[Token] = []

    # 1. values found in the data; longest first so "Congo, Dem. Rep." beats "Congo"
    candidates: list[tuple[str, str, Any]] = []
    for col, values in ds.values.items():
        for v in values:
            if isinstance(v, str) and len(v) >= 2:
                candidates.append((v, col, v))
    for alias, value in VALUE_ALIASES.items():
        for col, values in ds.values.items():
            if value in values:
                candidates.append((alias, col, value))
    candidates.sort(key=lambda t: -len(t[0]))
    for text, col, value in candidates:
        # Short upper-case codes (JFK, UA, AS) only match as written, so "as" or
        # "us" in a sentence is not a carrier.
        code = text.isupper() and len(text) <= 3
        pattern = r"(?<![\w])" + re.escape(text if code else text.lower()) + r"(?![\w])"
        for m in re.finditer(pattern, question if code else low):
            if _free(taken, m.start(), m.end()):
                _mark(taken, m.start(), m.end())
                tokens.append(Token("val", low[m.start():m.end()], m.start(), m.end(), col, value))

    # 2. column mentions, longest phrase first; words naming the dataset's rows
    # ("flights") come before one-word column names (the column "flight") but after
    # longer phrases ("flight number", "longest flights").
    phrases = _phrases(ds)
    nouns = [ds.name, ds.name.rstrip("s")] + DATASET_NOUNS.get(ds.name, [])
    for group in ("multi", "nouns", "single"):
        if group == "nouns":
            for noun in sorted(set(nouns), key=len, reverse=True):
                for m in re.finditer(r"(?<![\w])" + re.escape(noun) + r"(?![\w])", low):
                    if _free(taken, m.start(), m.end()):
                        _mark(taken, m.start(), m.end())
                        tokens.append(Token("ds", noun, m.start(), m.end()))
            continue
        for phrase, col, weak in phrases:
            if (" " in phrase) != (group == "multi"):
                continue
            for m in re.finditer(r"(?<![\w])" + re.escape(phrase) + r"(?![\w])", low):
                if _free(taken, m.start(), m.end()):
                    _mark(taken, m.start(), m.end())
                    tokens.append(Token("col", phrase, m.start(), m.end(), col, weak=weak))

    # 3. everything else: numbers and words
    for m in re.finditer(r"[a-z0-9]+(?:\.[0-9]+)?", low):
        if not _free(taken, m.start(), m.end()):
            continue
        word = m.group()
        if re.fullmatch(r"[0-9]+(\.[0-9]+)?", word):
            num: float | int = float(word) if "." in word else int(word)
            tokens.append(Token("num", word, m.start(), m.end(), value=num))
        elif word in NUMBER_WORDS:
            tokens.append(Token("num", word, m.start(), m.end(), value=NUMBER_WORDS[word]))
        else:
            tokens.append(Token("word", word, m.start(), m.end()))
    tokens.sort(key=lambda t: t.start)
    return tokens


# --- reading the question -----------------------------------------------------------


@dataclass
class Reading:
    dataset: Dataset
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


def _words(tokens: list[Token]) -> list[str]:
    return [t.text for t in tokens if t.kind == "word"]


def _has_phrase(low: str, phrases: tuple[str, ...] | list[str]) -> bool:
    return any(re.search(r"(?<![\w])" + re.escape(p) + r"(?![\w])", low) for p in phrases)


def _next_col(tokens: list[Token], i: int) -> int | None:
    """Index of the column token right after position i, skipping filler words."""
    j = i + 1
    while j < len(tokens) and tokens[j].kind == "word" and tokens[j].text in FILLER:
        j += 1
    if j < len(tokens) and tokens[j].kind == "col":
        return j
    return None


def read(question: str, ds: Dataset) -> Reading:
    low = question.lower()
    tokens = tokenize(question, ds)
    # every word as written, including those inside column mentions ("heaviest")
    words = set(re.findall(r"[a-z0-9]+", low))
    r = Reading(ds)
    used: set[int] = set()  # indexes of col tokens that got a role

    # filters on values found in the data (from JFK / to ATL decides origin vs dest)
    for i, t in enumerate(tokens):
        if t.kind != "val":
            continue
        col = t.column
        prev = tokens[i - 1].text if i > 0 else ""
        cols_with_value = [c for c, vs in ds.values.items() if t.value in vs]
        if prev in ("to", "into") and "dest" in cols_with_value:
            col = "dest"
        elif prev in ("from", "leaving", "departing", "out") and "origin" in cols_with_value:
            col = "origin"
        assert col is not None
        if (col, "=", t.value) not in r.filters:
            r.filters.append((col, "=", t.value))

    year_col = next((c.name for c in ds.columns if c.name.lower() == "year"), None)
    month_col = next((c.name for c in ds.columns if c.name.lower() == "month"), None)

    # numbers: years, comparisons, and the N of "top N"
    for i, t in enumerate(tokens):
        if t.kind != "num":
            continue
        before = low[max(0, t.start - 16):t.start]
        prev = tokens[i - 1].text if i > 0 else ""
        cmp = ">" if before.rstrip().endswith(MORE) else "<" if before.rstrip().endswith(LESS) \
            else None
        is_year = (
            year_col is not None and isinstance(t.value, int) and cmp is None
            and (t.value in ds.values.get(year_col, [])
                 or (1800 <= t.value <= 2100 and prev in YEAR_PREPOSITIONS))
        )
        if is_year:
            if prev == "between" or (prev == "and" and i >= 2 and tokens[i - 2].kind == "num"):
                continue  # handled with the "between" pair below
            op = {"since": ">=", "from": ">=", "after": ">", "before": "<", "until": "<=",
                  "through": "<=", "till": "<="}.get(prev, "=")
            r.filters.append((year_col, op, t.value))
            continue
        if cmp:
            unit = tokens[i + 1].text if i + 1 < len(tokens) else ""
            if unit in UNIT_WORDS:  # "2 hours" is a unit, not the column "hour"
                used.add(i + 1)
            col = _nearest_numeric(tokens, i, ds, skip=used)
            if col:
                value = t.value
                column = ds.column(col)
                if unit.startswith("hour") and column and "minute" in column.description:
                    value = t.value * 60
                r.filters.append((col, cmp, value))
                used.update(j for j, x in enumerate(tokens) if x.kind == "col" and x.column == col
                            and abs(j - i) <= 4)
                continue
        if isinstance(t.value, int) and 0 < t.value <= 1000 and r.limit is None:
            r.limit = t.value
    between = re.search(r"between (\d{4}) and (\d{4})", low)
    if between and year_col:
        r.filters.append((year_col, "between", (int(between.group(1)), int(between.group(2)))))

    if month_col:
        for m_index, name in enumerate(MONTHS, start=1):
            if name in words and not (name == "may" and _modal_may(low)):
                r.filters.append((month_col, "=", m_index))

    # superlatives and ordering words
    if words & HIGH or "top" in words:
        r.direction = "desc"
    if words & LOW or "bottom" in words:
        r.direction = "asc" if not (words & HIGH) or "bottom" in words else r.direction
    if ("top" in words or "bottom" in words) and r.limit is None:
        r.limit = DEFAULT_TOP
    if _has_phrase(low, ["most common", "most frequent", "busiest", "most popular"]):
        r.direction, r.count = "desc", "*"
    if _has_phrase(low, ["least common", "least frequent", "quietest", "least popular"]):
        r.direction, r.count = "asc", "*"

    # group columns: "by X", "per X", "for each X", "across X", "and Y" after those
    for i, t in enumerate(tokens):
        if t.kind == "word" and t.text in GROUP_WORDS:
            j = _next_col(tokens, i)
            if j is None or j in used:
                continue
            if t.text == "by" and _is_metric_phrase(tokens, j, ds):
                continue  # "top 5 destinations by number of flights" / "by average delay"
            _add_group(r, tokens, j, used)
            k = j + 1
            while k + 1 < len(tokens) and tokens[k].text == "and" and tokens[k + 1].kind == "col" \
                    and _groupable(ds, tokens[k + 1].column):
                _add_group(r, tokens, k + 1, used)
                k += 2
    for phrase, col in (("monthly", month_col), ("yearly", year_col), ("annual", year_col),
                        ("over time", year_col), ("each year", year_col)):
        if col and phrase in low and col not in r.group and not any(
                f[0] == col and f[1] == "=" for f in r.filters):
            r.group.append(col)

    # what is counted: "how many X" / "number of X" / "count of X"
    counting = _has_phrase(low, ["how many", "number of", "count", "counts", "how often",
                                 "frequency", "tally"])
    if counting or r.count:
        r.count = "*"
        m = re.search(r"(how many|number of|count of|count the|count)\s+(?:different |distinct |"
                      r"unique |the )?", low)
        if m:
            nxt = next((j for j, t in enumerate(tokens) if t.start >= m.end()), None)
            if nxt is not None and tokens[nxt].kind == "col" and nxt not in used \
                    and _countable(ds, tokens[nxt].column):
                r.count = tokens[nxt].column
                used.add(nxt)

    # "the most countries", "the fewest destinations": count the distinct values
    most = re.search(r"\b(most|fewest|least)\s+(?:different\s+|distinct\s+)?", low)
    if most and not r.metrics:
        nxt = next((j for j, t in enumerate(tokens) if t.start >= most.end()), None)
        if nxt is not None and tokens[nxt].kind == "col" and nxt not in used \
                and _countable(ds, tokens[nxt].column):
            r.count = tokens[nxt].column
            r.direction = "desc" if most.group(1) == "most" else "asc"
            used.add(nxt)

    # "which X had the highest ...", "top 5 X", "3 countries with the lowest ..."
    col_idx = [i for i, t in enumerate(tokens) if t.kind == "col" and i not in used]
    for i in col_idx:
        t = tokens[i]
        if not _groupable(ds, t.column) or t.column in r.group:
            continue
        prev_words = [x.text for x in tokens[max(0, i - 3):i] if x.kind in ("word", "num")]
        after_which = bool(set(prev_words) & {"which", "what", "top", "bottom"}) or (
            i > 0 and tokens[i - 1].kind == "num")
        if after_which and i not in used and (r.direction or r.count or _has_aggregate(words)):
            _add_group(r, tokens, i, used)
            r.singular_group = not t.text.endswith("s") or t.column == "species"
            if t.text == "species":
                r.singular_group = "species are" not in low and "species have" not in low

    # metrics: the numeric columns still without a role
    for i, t in enumerate(tokens):
        if t.kind == "col" and i not in used and t.column not in r.group:
            c = ds.column(t.column or "")
            if c and c.is_numeric and t.column not in (year_col, month_col) \
                    and t.column not in r.metrics:
                if t.weak and any(x.kind == "col" and not x.weak and ds.column(x.column or "")
                                  and ds.column(x.column or "").is_numeric  # type: ignore[union-attr]
                                  and x.column not in r.group for x in tokens if x is not t):
                    continue
                r.metrics.append(t.column)  # type: ignore[arg-type]
                used.add(i)
    r.agg = _aggregate(tokens, words)
    if r.metrics and r.count == "*" and not counting:
        r.count = None  # "most common" was about the metric after all
    if r.metrics and counting and r.count == "*" and r.agg is None:
        # "how many flights had a delay" keeps COUNT; the metric was only mentioned
        r.metrics = []

    if r.group and not r.metrics and not r.count:
        r.count = "*"  # "flights per carrier", "which carrier has the most flights"

    # distinct values: "which species live on Dream island", "list the continents"
    filtered = {f[0] for f in r.filters if f[1] == "="}
    if not r.metrics and not r.count and not r.group:
        for i, t in enumerate(tokens):
            if (t.kind == "col" and i not in used and _groupable(ds, t.column)
                    and (words & LIST_WORDS or "are there" in low)
                    and t.column not in r.distinct and t.column not in filtered):
                r.distinct.append(t.column)  # type: ignore[arg-type]
    if not r.metrics and not r.count and not r.group and not r.distinct and (
            r.filters or words & {"show", "list", "rows", "records", "examples", "sample"}):
        r.listing = True

    r.explicit_list = bool(words & {"list", "distinct", "unique", "all"})
    if not (r.metrics or r.count or r.group or r.distinct or r.listing or r.filters) \
            and any(t.kind == "ds" for t in tokens) and len(re.findall(r"\w+", low)) <= 3:
        r.listing, r.limit = True, r.limit or DEFAULT_TOP  # just "penguins": show some rows
    _merge_filters(r)

    sort = re.search(r"(?:sorted|ordered|order|sort)\s+by\s+", low)
    if sort:
        after = next((t for t in tokens if t.start >= sort.end() and t.kind == "col"), None)
        if after:
            r.order_by = after.column
            if "desc" in low:
                r.direction = "desc"
    return r


def _modal_may(low: str) -> bool:
    return bool(re.search(r"\bmay (i|we|you|be|have)\b", low))


def _add_group(r: Reading, tokens: list[Token], j: int, used: set[int]) -> None:
    col = tokens[j].column
    if col and col not in r.group:
        r.group.append(col)
    used.add(j)


def _groupable(ds: Dataset, col: str | None) -> bool:
    c = ds.column(col or "")
    if c is None:
        return False
    return c.is_text or c.name.lower() in ("year", "month", "day", "hour") or c.name in ds.values


def _countable(ds: Dataset, col: str | None) -> bool:
    c = ds.column(col or "")
    return c is not None and c.is_text


def _is_metric_phrase(tokens: list[Token], j: int, ds: Dataset) -> bool:
    c = ds.column(tokens[j].column or "")
    return c is not None and c.is_numeric and c.name.lower() not in ("year", "month", "day",
                                                                       "hour")


def _has_aggregate(words: set[str]) -> bool:
    return bool(words & set(AGGREGATES))


def _aggregate(tokens: list[Token], words: set[str]) -> str | None:
    for t in tokens:
        if t.kind == "word" and t.text in AGGREGATES:
            return AGGREGATES[t.text]
    return None


def _nearest_numeric(
    tokens: list[Token], i: int, ds: Dataset, skip: set[int] | None = None
) -> str | None:
    """The numeric column a comparison is about: the closest one before the number
    ("delay over 60 minutes"), else the closest after it ("more than 1000 miles")."""
    best: tuple[int, str] | None = None
    for j, t in enumerate(tokens):
        c = ds.column(t.column or "") if t.kind == "col" and j not in (skip or ()) else None
        if c and c.is_numeric and c.name.lower() not in ("year", "month"):
            dist = (i - j) if j < i else (j - i) + 100
            if best is None or dist < best[0]:
                best = (dist, c.name)
    return best[1] if best else None


# --- writing SQL ------------------------------------------------------------------------


def _merge_filters(r: Reading) -> None:
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


def _where(r: Reading) -> str:
    parts = []
    for col, op, value in r.filters:
        if op == "in":
            parts.append(f"{quote(col)} IN ({', '.join(literal(v) for v in value)})")
        elif op == "between":
            parts.append(f"{quote(col)} BETWEEN {value[0]} AND {value[1]}")
        else:
            parts.append(f"{quote(col)} {op} {literal(value)}")
    return "WHERE " + " AND ".join(parts) if parts else ""


def _describe_filters(r: Reading) -> str:
    if not r.filters:
        return ""
    words = {"=": "=", ">": ">", "<": "<", ">=": "≥", "<=": "≤"}
    parts = []
    for col, op, value in r.filters:
        if op == "in":
            parts.append(f"{col} in ({', '.join(str(v) for v in value)})")
        elif op == "between":
            parts.append(f"{col} between {value[0]} and {value[1]}")
        else:
            parts.append(f"{col} {words[op]} {value}")
    return " where " + " and ".join(parts)


def write_sql(r: Reading) -> tuple[str, str]:
    """(SQL, explanation) for a reading; raises ValueError when the shape is incomplete."""
    ds = r.dataset
    table = quote(ds.name)
    where = _where(r)
    lines: list[str]
    explanation: str

    if r.metrics or r.count:
        selects: list[str] = []
        order_alias: str | None = None
        agg = r.agg
        if r.metrics:
            if agg is None:
                agg = {"desc": "max", "asc": "min"}.get(r.direction or "", "avg")
            for m in r.metrics:
                alias = f"{agg}_{m}"
                expr = f"{agg.upper()}({quote(m)})"
                if agg in ("avg", "median"):
                    expr = f"ROUND({expr}, 2)"
                selects.append(f"{expr} AS {quote(alias)}")
                order_alias = order_alias or alias
            what = ", ".join(f"{_agg_word(agg)} {m}" for m in r.metrics)
        else:
            if r.count == "*":
                noun = ROW_NOUNS.get(ds.name, "rows")
                alias = f"n_{noun}"
                selects.append(f"COUNT(*) AS {quote(alias)}")
                what = f"number of {noun}"
            else:
                alias = f"n_{r.count}"
                selects.append(f"COUNT(DISTINCT {quote(r.count or '')}) AS {quote(alias)}")
                what = f"number of distinct {r.count}"
            order_alias = alias
        group = [quote(g) for g in r.group]
        lines = ["SELECT " + ", ".join(group + selects), f"FROM {table}"]
        if where:
            lines.append(where)
        explanation = what[0].upper() + what[1:]
        if r.group:
            lines.append("GROUP BY " + ", ".join(group))
            explanation += " per " + " and ".join(r.group) + f" in {ds.name}" + \
                _describe_filters(r)
            limit = r.limit
            if r.direction and order_alias:
                lines.append(f"ORDER BY {quote(order_alias)} {r.direction.upper()}, "
                             + ", ".join(group))
                if limit is None and r.singular_group and len(r.group) == 1 and \
                        len(ds.values.get(r.group[0], [])) > SMALL_GROUP or \
                        (limit is None and r.singular_group and r.group[0] not in ds.values):
                    limit = 1
                explanation += ", " + ("highest" if r.direction == "desc" else "lowest") + \
                    " first"
            elif r.order_by and r.order_by in r.group:
                lines.append(f"ORDER BY {quote(r.order_by)}" + (" DESC" if r.direction else ""))
            else:
                lines.append("ORDER BY " + ", ".join(group))
            if limit:
                lines.append(f"LIMIT {limit}")
                explanation += f", top {limit}" if limit > 1 else ", the top one"
        else:
            explanation += f" in {ds.name}" + _describe_filters(r)
        explanation += "."
        return "\n".join(lines), explanation

    if r.distinct and r.direction and not r.explicit_list:
        raise ValueError("a superlative with nothing to measure")  # "the smallest country"
    if r.distinct:
        cols = [quote(c) for c in r.distinct]
        lines = ["SELECT DISTINCT " + ", ".join(cols), f"FROM {table}"]
        not_null = " AND ".join(f"{c} IS NOT NULL" for c in cols)
        lines.append((where + " AND " + not_null) if where else "WHERE " + not_null)
        lines.append("ORDER BY " + ", ".join(cols))
        explanation = f"The distinct {', '.join(r.distinct)} values in {ds.name}" + \
            _describe_filters(r) + "."
        return "\n".join(lines), explanation

    if r.listing:
        lines = ["SELECT *", f"FROM {table}"]
        if where:
            lines.append(where)
        if r.order_by:
            lines.append(f"ORDER BY {quote(r.order_by)}" +
                         (" DESC" if r.direction == "desc" else ""))
        if r.limit:
            lines.append(f"LIMIT {r.limit}")
        explanation = f"Rows of {ds.name}" + _describe_filters(r) + "."
        return "\n".join(lines), explanation
    raise ValueError("no shape")


def _agg_word(agg: str) -> str:
    return {"avg": "average", "sum": "total", "min": "minimum", "max": "maximum",
            "median": "median"}[agg]


def _value_lookup(r: Reading) -> tuple[str, str] | None:
    """ "life expectancy of Japan in 2007": the metric's values for the named rows."""
    if not (r.metrics and r.filters and not r.group and r.agg is None and not r.direction
            and not r.count):
        return None
    ds = r.dataset
    shown = [f[0] for f in r.filters if f[1] == "="] + r.metrics
    shown = list(dict.fromkeys(shown))
    order = [c for c in ("year", "month") if ds.column(c) and c not in shown]
    lines = ["SELECT " + ", ".join(quote(c) for c in order + shown), f"FROM {quote(ds.name)}",
             _where(r)]
    if order:
        lines.append("ORDER BY " + ", ".join(quote(c) for c in order))
    if r.limit:
        lines.append(f"LIMIT {r.limit}")
    return "\n".join(lines), f"{', '.join(r.metrics)} in {ds.name}" + _describe_filters(r) + "."


def _row_listing_for_superlative(r: Reading) -> tuple[str, str] | None:
    """ "the 5 longest flights" / "the heaviest penguin": whole rows ordered by a metric."""
    if not (r.metrics and r.direction and not r.group and r.agg is None and r.limit):
        return None
    ds = r.dataset
    m = r.metrics[0]
    lines = ["SELECT *", f"FROM {quote(ds.name)}"]
    where = _where(r)
    lines.append((where + " AND " if where else "WHERE ") + f"{quote(m)} IS NOT NULL")
    lines.append(f"ORDER BY {quote(m)} {r.direction.upper()}")
    lines.append(f"LIMIT {r.limit}")
    word = "highest" if r.direction == "desc" else "lowest"
    return "\n".join(lines), f"The {r.limit} rows of {ds.name} with the {word} {m}" + \
        _describe_filters(r) + "."


# --- choosing the dataset ----------------------------------------------------------------


def choose_dataset(question: str, catalog: Catalog, history: list[dict[str, Any]]) -> str | None:
    low = question.lower()
    scores: dict[str, float] = {}
    for ds in catalog.datasets.values():
        score = 0.0
        nouns = [ds.name, ds.name.rstrip("s")] + DATASET_NOUNS.get(ds.name, [])
        if _has_phrase(low, nouns):
            score += 10
        for t in tokenize(question, ds):
            if t.kind == "val":
                score += 3
            elif t.kind == "col" and t.column and t.column.lower() not in ("year", "month"):
                score += 0.5 if t.weak else 2
        scores[ds.name] = score
    best = max(scores.values(), default=0)
    if best <= 0:
        return _dataset_from_history(history, catalog)
    winners = [n for n, s in scores.items() if s == best]
    if len(winners) > 1:
        previous = _dataset_from_history(history, catalog)
        if previous in winners:
            return previous
    return winners[0]


def _dataset_from_history(history: list[dict[str, Any]], catalog: Catalog) -> str | None:
    for answer in reversed(history):
        code = ((answer or {}).get("plan") or {}).get("code") or ""
        m = re.search(r"\bFROM\s+\"?(\w+)", code, re.IGNORECASE)
        if m and catalog.get(m.group(1)):
            return m.group(1)
    return None


class OfflinePlanner(Planner):
    name = "offline"

    async def plan(
        self, question: str, catalog: Catalog, history: list[dict[str, Any]],
        dataset: str | None = None,
    ) -> Plan | CannotPlan:
        return plan_question(question, catalog, history, dataset)


def plan_question(
    question: str, catalog: Catalog, history: list[dict[str, Any]] | None = None,
    dataset: str | None = None,
) -> Plan | CannotPlan:
    """The whole offline planner as one pure function (what the tests call)."""
    if _SQL_START.match(question):
        # SQL typed into the chat runs as written (the guard still checks it).
        used = _dataset_from_history([{"plan": {"code": question}}], catalog)
        return Plan("sql", question.strip(), "Your SQL, run as written.", "offline", used)
    name = dataset or choose_dataset(question, catalog, history or [])
    ds = catalog.get(name) if name else None
    if ds is None:
        return CannotPlan(
            "I could not tell which dataset this is about. I know "
            + ", ".join(catalog.names) + "; name one, or try one of these.",
            suggestions_for(catalog, None),
        )
    reading = read(question, ds)
    try:
        written = (_row_listing_for_superlative(reading) or _value_lookup(reading)
                   or write_sql(reading))
    except ValueError:
        return CannotPlan(
            f"I could not turn that into a query over {ds.name} (columns: "
            + ", ".join(c.name for c in ds.columns)
            + "). The built-in planner answers counts, averages, totals, minimums and "
            "maximums, grouped and filtered; try one of these.",
            suggestions_for(catalog, ds.name),
        )
    sql, explanation = written
    return Plan("sql", sql, explanation, "offline", ds.name)

"""The English the offline planner understands, the same for every dataset: words for
aggregates, superlatives, grouping, comparisons, months, numbers and units.

Nothing here names a dataset or a column; those words come from the manifest
(see vocabulary.py).
"""

from __future__ import annotations

AGGREGATES = {
    "average": "avg", "avg": "avg", "mean": "avg", "typical": "avg",
    "sum": "sum", "total": "sum", "combined": "sum",
    "median": "median",
    "minimum": "min", "min": "min",
    "maximum": "max", "max": "max",
}
AGGREGATE_WORDS = {"avg": "average", "sum": "total", "min": "minimum", "max": "maximum",
                   "median": "median"}
HIGH = {"highest", "largest", "biggest", "most", "greatest", "longest", "heaviest", "top",
        "busiest", "richest", "maximum", "max", "max.", "oldest", "populous"}
LOW = {"lowest", "smallest", "least", "fewest", "shortest", "lightest", "bottom",
       "poorest", "minimum", "min"}
GROUP_WORDS = {"by", "per", "each", "every", "across"}
# Verbs before "by" that still group ("grouped by carrier"); other participles in -ed
# ("operated by") and "made by" name an agent. ("flown by carrier" groups: people say so.)
GROUPING_VERBS = {"grouped", "sorted", "ordered", "ranked", "aggregated", "summarized",
                  "summarised", "bucketed", "segmented", "divided", "separated", "categorized",
                  "categorised", "listed", "counted", "split", "broken", "tallied"}
IRREGULAR_PARTICIPLES = {"made", "built"}
FILLER = {"the", "a", "an", "each", "every", "of", "their", "its", "single", "individual",
          "different"}
LIST_WORDS = {"which", "what", "list", "distinct", "unique", "different", "show", "name", "names"}
LISTING_WORDS = {"show", "list", "rows", "records", "examples", "sample"}
EXPLICIT_LIST_WORDS = {"list", "distinct", "unique", "all"}
NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20,
}
SCALES = {"thousand": 1_000, "k": 1_000, "million": 1_000_000, "millions": 1_000_000,
          "mn": 1_000_000, "billion": 1_000_000_000, "billions": 1_000_000_000,
          "bn": 1_000_000_000}
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
# Month names as people shorten them; "may" is a month already, "mar" is not an English
# word worth guarding.
MONTH_ABBREVIATIONS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8,
                       "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12}
MORE = ("more than", "greater than", "longer than", "over", "above", "at least", "exceeding",
        "bigger than", "higher than", "larger than", "heavier than", "exceed", "exceeds",
    "exceeded", "go over", "went over", "goes over", "surpassed")
LESS = ("less than", "fewer than", "shorter than", "under", "below", "at most", "lower than",
        "smaller than", "lighter than", "go under", "went under", "fell below", "dropped below")
YEAR_PREPOSITIONS = {"in", "since", "from", "after", "before", "until", "through", "till",
                     "during", "of", "between", "and", "for"}
YEAR_OPERATORS = {"since": ">=", "from": ">=", "after": ">", "before": "<", "until": "<=",
                  "through": "<=", "till": "<="}
COUNTING = ["how many", "number of", "count", "counts", "how often", "frequency", "tally"]
MOST_COMMON = ["most common", "most frequent", "busiest", "most popular"]
LEAST_COMMON = ["least common", "least frequent", "quietest", "least popular"]
# Column names that are calendar parts: grouped by, never averaged.
CALENDAR = ("year", "month", "day", "hour")
# A unit word after a number, mapped to the unit name a manifest column may declare.
UNIT_WORDS = {
    "hour": "hours", "hours": "hours", "minute": "minutes", "minutes": "minutes",
    "min": "minutes", "mins": "minutes", "grams": "grams", "gram": "grams", "g": "grams",
    "kg": "kg", "kgs": "kg", "kilograms": "kg", "kilogram": "kg", "kilos": "kg", "kilo": "kg",
    "mm": "mm", "millimetres": "mm", "millimeters": "mm", "years": "years",
    "dollars": "usd", "people": "people", "m": "m", "metres": "m", "meters": "m",
    "feet": "feet", "ft": "feet", "km": "km", "kilometres": "km", "kilometers": "km",
    "miles": "miles", "mi": "miles",
}
# (unit written, unit of the column) -> factor that turns the first into the second.
CONVERSIONS = {
    ("hours", "minutes"): 60, ("kg", "grams"): 1000, ("m", "feet"): 3.28084,
    ("feet", "m"): 0.3048, ("km", "miles"): 0.621371, ("miles", "km"): 1.609344,
}
# Unit suffixes of column names: "body_mass_g" is also called "body mass".
UNIT_SUFFIX = r" (mm|g|kg|cm|m|km|s|ms|pct)$"
# Words that say a column is empty in a row: "missing body mass", "sex unknown" always;
# "no" / "without" only for a text column or with a word saying what is missing
# ("no recorded delay"): "flights with no delay" are flights on time, not unknown ones.
MISSING = {"missing", "unknown", "null", "blank", "empty", "absent", "unrecorded"}
MISSING_WEAK = {"no", "without", "lacking"}
MISSING_RECORD = {"recorded", "known", "data", "value", "listed", "given", "info"}
MISSING_SKIP = {"a", "an", "the", "any", "recorded", "known", "is", "was", "are", "were"}
# A measure between two periods or two groups: "change", "grew", "gap", "difference".
CHANGE_WORDS = {"change", "changed", "changes", "grow", "grew", "grown", "growth", "increase",
                "increased", "rise", "rose", "risen", "gain", "gained", "improve", "improved"}
FALL_WORDS = {"fall", "fell", "fallen", "drop", "dropped", "decline", "declined", "decrease",
              "decreased", "shrink", "shrank"}
GAP_WORDS = {"gap", "difference", "diff", "differ", "differs"}
# The first or last period past a threshold.
FIRST_WORDS = {"first", "earliest", "firstly"}
LAST_WORDS = {"last", "latest"}
DEFAULT_TOP = 10
# A group column with more distinct values than this answers "which X had the
# highest ..." with the single winner; with fewer, the whole ranking is shown.
SMALL_GROUP = 10
# "best" and "worst" are not here on purpose: their direction depends on the measure
# (the worst delay is the highest, the worst life expectancy the lowest), so the
# honesty rule asks back instead of guessing.
# Short English words that are also codes in some data (AS = Alaska Airlines, US = US
# Airways): such a code matches only as written in capitals. Other codes ("jfk",
# "lga", "ua") match in lower case too, the way people type them.
_SHORT_TEXT = (
    "a an as at be by do go he hi i if in is it me my no of oh ok on or so to up us we "
    "am are all and any can did few for had has her him his how its let may not now off "
    "one our out own per see she the too two use was way who why yes yet you"
)
SHORT_WORDS = frozenset(_SHORT_TEXT.split())
# The words after which a lower-case code is read as the code ("from jfk", "to lax").
# Not the start of a question: "day with the most flights" is not Dayton (DAY).
CODE_CONTEXT = frozenset({"from", "to", "at", "for", "into", "via", "and", "vs", "or",
                          "between", "versus"})

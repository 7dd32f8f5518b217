"""The honesty rule: a word the reading did not use is a question back, never a guess."""

from __future__ import annotations

import pytest

from app.planners.base import CannotPlan, Plan
from app.planners.offline import plan_question


def test_a_misspelled_value_is_asked_back_with_the_correction(catalog):
    answer = plan_question("how many penguins are gentooo", catalog)
    assert isinstance(answer, CannotPlan)
    assert "'gentooo'" in answer.message
    assert "did you mean species = 'Gentoo'?" in answer.message
    assert answer.suggestions[0] == "how many penguins are gentoo"


def test_a_plural_value_is_read_as_the_value(catalog):
    plan = plan_question("how many gentoos penguins", catalog)
    assert isinstance(plan, Plan)
    assert "species = 'Gentoo'" in plan.code
    assert "species = Gentoo" in plan.explanation


@pytest.mark.parametrize("question, word", [
    ("What share of the world population lived in Asia in 2007?", "share"),  # of a SUM
    ("How many flights were diverted?", "diverted"),  # not all flights
    ("which country had the best life in 2007", "best"),  # no measure, no direction
    ("which month had the worst dep delays", "worst"),  # direction depends on the measure
    ("how many flights from jfk landed late", "landed"),  # the condition is not dropped
])
def test_a_condition_it_cannot_read_is_not_dropped(catalog, question, word):
    answer = plan_question(question, catalog)
    assert isinstance(answer, CannotPlan), answer
    assert f"'{word}'" in answer.message
    assert "did not guess" in answer.message
    assert answer.suggestions


def test_a_typo_in_a_column_it_used_is_fine(catalog):
    plan = plan_question("avg bill lenght of adelie penguins", catalog)
    assert isinstance(plan, Plan)
    assert "AVG(bill_length_mm)" in plan.code


def test_a_share_says_what_it_counts_and_what_it_leaves_out(catalog, duck):
    plan = plan_question("What share of Gentoo penguins are female?", catalog)
    assert isinstance(plan, Plan)
    assert plan.explanation == ("Share of penguins where species = Gentoo whose sex is "
                                "female, in % (rows with no recorded sex excluded).")
    (value,), = duck.execute(plan.code).fetchall()
    (want,), = duck.execute("SELECT 100.0 * COUNT(*) FILTER (WHERE sex = 'female') / "
                            "COUNT(sex) FROM penguins WHERE species = 'Gentoo'").fetchall()
    assert abs(value - want) < 0.01


def test_lower_case_codes_are_values_but_english_words_are_not(catalog):
    plan = plan_question("how many flights from lga in march", catalog)
    assert "origin = 'LGA'" in plan.code
    plan = plan_question("how many flights as of march", catalog)
    assert "'AS'" not in getattr(plan, "code", "")

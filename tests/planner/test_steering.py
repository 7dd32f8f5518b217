"""The offline planner steers as well as answers: a question back comes with choices that
are each answered; a follow-up ("and for 1952?") is read against the previous plan; and
every follow-up it offers is answered (planned and run on the real Parquet files), not
refused."""

from __future__ import annotations

import pytest

from app.planners.base import CannotPlan, Plan
from app.planners.offline import follow_ups, plan_question

# Questions of every dataset, with and without filters, groups and years.
ASKED = [
    "average life expectancy in europe in 2007",
    "average body mass of gentoo penguins",
    "how many penguins by island",
    "what is the average bill length by species",
    "how many flights from JFK in January",
    "top 5 destinations by number of flights",
    "total population of asia in 1952",
]


def test_a_misspelled_value_is_asked_back_with_a_choice_that_is_answered(catalog):
    asked = plan_question("average body mass of gentos", catalog)
    assert isinstance(asked, CannotPlan)
    assert asked.clarify is not None
    assert asked.clarify.question == "Did you mean species = 'Gentoo'?"
    assert [(c.label, c.question) for c in asked.clarify.choices] == [
        ("species = 'Gentoo'", "average body mass of Gentoo")]
    plan = plan_question(asked.clarify.choices[0].question, catalog)
    assert isinstance(plan, Plan) and "species = 'Gentoo'" in plan.code


def test_a_word_near_no_value_is_refused_without_choices(catalog):
    refused = plan_question("average body mass of penguins by colour", catalog)
    assert isinstance(refused, CannotPlan)
    assert refused.clarify is None


def test_a_follow_up_is_read_against_the_previous_plan(catalog):
    first = plan_question("average life expectancy in europe in 2007", catalog)
    history = [{"question": "average life expectancy in europe in 2007", "plan": first.public()}]
    then = plan_question("and for 1952?", catalog, history)
    assert isinstance(then, Plan)
    assert then.explanation == ("Average lifeExp in gapminder where continent = Europe and "
                                "year = 1952.")
    history.append({"question": "and for 1952?", "plan": then.public()})
    again = plan_question("what about Asia?", catalog, history)  # builds on the follow-up
    assert again.explanation == ("Average lifeExp in gapminder where continent = Asia and "
                                 "year = 1952.")
    grouped = plan_question("and by country?", catalog, history)
    assert isinstance(grouped, CannotPlan) or "per country" in grouped.explanation


def test_a_follow_up_without_a_previous_plan_is_not_guessed(catalog):
    assert isinstance(plan_question("and for 1952?", catalog, []), CannotPlan)


@pytest.mark.parametrize("question", ASKED)
def test_every_offered_follow_up_is_answered(catalog, duck, question):
    plan = plan_question(question, catalog)
    assert isinstance(plan, Plan)
    offered = follow_ups(question, plan, catalog, [])
    assert 1 <= len(offered) <= 3, offered
    history = [{"question": question, "plan": plan.public()}]
    for follow_up in offered:
        then = plan_question(follow_up, catalog, history)
        assert isinstance(then, Plan), f"{follow_up!r} after {question!r}: {then}"
        assert then.code != plan.code
        duck.execute(then.code).fetchall()  # it runs on the real data

"""Answers a person can check and steer, in a real Chromium against the real agent server
(bubblewrap sandboxes, offline planner): the SQL under the reading can be edited and
run again through the guard (and a refusal reads as one); a question back shows its
choices as buttons that ask the clarified question; follow-ups are buttons, and one
that refers to the previous answer ("and for 1952?") is answered against it; an LLM
plan that leaves a condition of the question unused is flagged above its table."""

from __future__ import annotations

import pytest
from conftest import AgentServer
from planner.fake_llm_server import FakeLLM, reply
from playwright.sync_api import expect
from ui_helpers import answers, open_app, screenshot, sign_in_context, table_of, wait_for_answers

# Every page here is signed in as an analyst (tests/ui/conftest.py `signed_in`).
pytestmark = [pytest.mark.browser, pytest.mark.bwrap, pytest.mark.usefixtures("signed_in")]


def ask(page, question: str, count: int):
    page.locator("#ask-input").fill(question)
    page.locator("#ask-input").press("Enter")
    wait_for_answers(page, count)
    return answers(page).nth(count - 1)


def edit_and_run(answer, sql: str) -> None:
    answer.locator(".answer-reading button.show-code").click()
    editor = answer.locator("textarea.code-editor")
    expect(editor).to_be_visible()
    editor.fill(sql)
    answer.locator("button.rerun").click()


def test_edited_sql_runs_again_and_the_table_changes(context, agent_server):
    page = open_app(context, agent_server.url)
    first = ask(page, "how many penguins by island", 1)
    assert table_of(first) == (["island", "n_penguins"],
                               [["Biscoe", "168"], ["Dream", "124"], ["Torgersen", "52"]])
    editor = first.locator("textarea.code-editor")
    first.locator(".answer-reading button.show-code").click()
    assert "GROUP BY island" in editor.input_value()  # the editor starts from the plan's SQL

    edit_and_run(first, "SELECT island, COUNT(*) AS n_penguins FROM penguins\n"
                        "WHERE species = 'Adelie' GROUP BY island ORDER BY island")
    wait_for_answers(page, 2)
    edited = answers(page).nth(1)
    assert page.locator("#messages .bubble-user").nth(1).inner_text().endswith(
        "Edited SQL of: how many penguins by island")
    assert edited.locator(".reading-text").inner_text() == "Your edited SQL, run as written."
    assert "edited by you" in edited.locator(".answer-meta").inner_text()
    assert table_of(edited) == (["island", "n_penguins"],
                                [["Biscoe", "44"], ["Dream", "56"], ["Torgersen", "52"]])
    screenshot(page, "ui-edited-sql")

    # Kept in the conversation: after a reload both answers are there.
    page.reload()
    page.wait_for_selector("body[data-ready=true]", state="attached")
    wait_for_answers(page, 2)
    assert table_of(answers(page).nth(1))[1][0] == ["Biscoe", "44"]
    assert page.errors == []


def test_the_guard_refusal_of_edited_sql_is_a_readable_message(context, agent_server):
    page = open_app(context, agent_server.url)
    first = ask(page, "how many penguins by island", 1)
    edit_and_run(first, "DROP TABLE penguins")
    wait_for_answers(page, 2)
    refused = answers(page).nth(1)
    assert refused.locator("table").count() == 0
    expect(refused.locator(".badge")).to_have_text("rejected")
    assert refused.locator(".error-title").inner_text() == "Refused by the safety check"
    detail = refused.locator(".error-detail").inner_text()
    assert "only one read-only SELECT over" in detail and "found: DROP" in detail
    assert page.errors == []


def test_a_question_back_offers_its_choices_as_buttons(context, agent_server):
    page = open_app(context, agent_server.url)
    asked = ask(page, "average body mass of gentos", 1)
    assert asked.locator("table").count() == 0
    box = asked.locator(".clarify")
    assert box.locator(".clarify-question").inner_text() == "Did you mean species = 'Gentoo'?"
    choice = box.locator("button.clarify-choice")
    assert choice.count() == 1
    assert choice.locator(".clarify-label").inner_text() == "species = 'Gentoo'"
    chips = asked.locator("button.chip").all_inner_texts()
    assert chips and "average body mass of gentoo" not in [c.lower() for c in chips]
    screenshot(page, "ui-clarify")
    choice.click()
    wait_for_answers(page, 2)
    assert page.locator("#messages .bubble-user").nth(1).inner_text().endswith(
        "average body mass of Gentoo")
    answered = answers(page).nth(1)
    assert answered.locator(".reading-text").inner_text() == (
        "Average body_mass_g in penguins where species = Gentoo.")
    assert table_of(answered)[1] == [["5,076.02"]]
    assert page.errors == []


def test_follow_ups_are_buttons_and_and_for_1952_builds_on_the_answer(context, agent_server):
    page = open_app(context, agent_server.url)
    first = ask(page, "average life expectancy in europe in 2007", 1)
    buttons = first.locator(".follow-ups button.follow-up")
    offered = buttons.all_inner_texts()
    assert offered == ["and for Africa?", "and for 1952?"]
    screenshot(page, "ui-follow-ups")
    buttons.nth(1).click()
    wait_for_answers(page, 2)
    then = answers(page).nth(1)
    assert then.locator(".reading-text").inner_text() == (
        "Average lifeExp in gapminder where continent = Europe and year = 1952.")
    assert table_of(then)[1] == [["64.41"]]

    # Typed by hand, a follow-up of the follow-up keeps both parts.
    again = ask(page, "what about Asia?", 3)
    assert again.locator(".reading-text").inner_text() == (
        "Average lifeExp in gapminder where continent = Asia and year = 1952.")
    assert page.errors == []


def test_an_llm_plan_that_ignores_a_condition_is_flagged(context, tmp_path):
    """The LLM is a stand-in OpenAI-compatible endpoint (FakeLLM, a real HTTP server with
    a scripted reply): no real LLM is reachable on these machines."""
    llm = FakeLLM()
    llm.script.append((200, reply("sql", "SELECT COUNT(*) AS n FROM penguins "
                                  "WHERE island = 'Biscoe'", "Count on Biscoe."), 0))
    try:
        with AgentServer(tmp_path, LLM_BASE_URL=llm.url, LLM_MODEL="m") as server:
            server.add_user("llm-analyst", "llm-analyst-Corral-pass")
            sign_in_context(context, server.url, "llm-analyst", "llm-analyst-Corral-pass")
            page = open_app(context, server.url)
            answer = ask(page, "how many gentoo penguins live on biscoe", 1)
            flag = answer.locator(".notice-unread")
            assert flag.inner_text() == ("Check this answer: the plan does not use “gentoo” "
                                         "of your question.")
            assert answer.locator(".reading-text").inner_text().startswith(
                "Number of rows in penguins where island = 'Biscoe'.")
            assert table_of(answer)[1] == [["168"]]  # the table is still there
            screenshot(page, "ui-llm-flag")
            assert page.errors == []
    finally:
        llm.close()

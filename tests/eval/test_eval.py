"""The shipped question set through a real agent server (bubblewrap sandboxes) and the
offline planner, scored by execution match; fails below the committed thresholds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from app.evaluation.questions import QuestionFileError, load_questions
from app.evaluation.report import summary, table
from app.evaluation.run import evaluate
from app.evaluation.score import matches

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "api"))
from agent_server import RunningServer, server_settings

QUESTIONS = ROOT / "eval" / "questions.json"
# What the offline planner achieves on eval/questions.json today (223 questions): the
# floor for correct answers and the ceiling for confidently wrong ones. Raise the first
# and lower the second as the planner improves; never the other way round. Before the
# honesty rule it was 141 correct and 75 confidently wrong; with it 140 and 3;
# with shares and lower-case codes 153 and 3.
MIN_CORRECT = 153
MAX_CONFIDENTLY_WRONG = 3


def test_extra_columns_and_row_order_do_not_matter() -> None:
    expected = [("Adelie", 3700.66), ("Gentoo", 5076.02)]
    rows = [["Gentoo", 124, 5076.016], ["Adelie", 152, 3700.662]]
    assert matches(["species", "n", "avg"], rows, expected, ordered=False)
    assert not matches(["species", "n", "avg"], rows, expected, ordered=True)


def test_a_wrong_number_or_a_missing_row_is_wrong() -> None:
    assert not matches(["n"], [[343]], [(344,)], ordered=False)
    assert not matches(["species"], [["Adelie"], ["Gentoo"]], [("Adelie",)], ordered=False)
    assert matches(["n"], [[344.0]], [(344,)], ordered=False)
    assert not matches(["n"], [[None]], [(0,)], ordered=False)


def test_the_question_file_is_checked_with_the_field_named(tmp_path: Path) -> None:
    bad = tmp_path / "q.json"
    bad.write_text(json.dumps({"questions": [
        {"id": "a", "dataset": "nowhere", "shape": "count", "style": "typed",
         "question": "how many", "sql": "SELECT 1"}]}))
    with pytest.raises(QuestionFileError, match=r"questions\[0\]\.dataset"):
        load_questions(bad, ROOT / "datasets")
    bad.write_text(json.dumps({"questions": [
        {"id": "a", "dataset": "penguins", "shape": "count", "style": "typed",
         "question": "how many", "sql": "SELECT nope FROM penguins"}]}))
    with pytest.raises(QuestionFileError, match=r"question a\.sql"):
        load_questions(bad, ROOT / "datasets")


def test_the_shipped_set_is_mostly_typed_the_way_people_type() -> None:
    questions = load_questions(QUESTIONS, ROOT / "datasets")
    assert len(questions) >= 200
    assert sum(q.style == "typed" for q in questions) * 2 >= len(questions)
    assert {q.dataset for q in questions} == {"penguins", "gapminder", "flights"}


@pytest.mark.bwrap
def test_offline_planner_meets_the_committed_thresholds(tmp_path: Path) -> None:
    questions = load_questions(QUESTIONS, ROOT / "datasets")
    settings = server_settings(tmp_path, warm_pool_size=0)
    with RunningServer(settings) as server:
        outcomes = evaluate(server.url, questions, token=server.token)
    data = summary(outcomes)
    print(table(data))  # shown with -s and in the CI log on failure
    total = data["total"]
    assert total["error"] == 0, [q for q in data["questions"] if q["outcome"] == "error"][:3]
    assert total["wrong"] <= MAX_CONFIDENTLY_WRONG, table(data)
    assert total["correct"] >= MIN_CORRECT, table(data)

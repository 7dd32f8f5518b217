"""Ask the agent server every question (POST /api/chat) and classify each answer:
correct, wrong (status ok but not the expected answer: confidently wrong), refused
(the planner said it cannot answer, or asked back), or error (anything else)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from app.evaluation.questions import Question
from app.evaluation.score import matches

OUTCOMES = ("wrong", "correct", "refused", "error")  # confidently wrong first


@dataclass
class Outcome:
    question: Question
    outcome: str
    planner: str | None
    code: str | None
    message: str
    rows: int


def classify(q: Question, answer: dict[str, Any]) -> str:
    plan, result = answer.get("plan"), answer.get("result")
    if plan is None:
        return "refused"
    if not result or result.get("status") != "ok":
        return "error"
    columns = [c["name"] for c in result.get("columns", [])]
    if matches(columns, result.get("rows", []), q.expected, q.ordered,
               ranking=q.shape == "superlative"):
        return "correct"
    return "wrong"


def ask(client: httpx.Client, q: Question) -> Outcome:
    try:
        response = client.post("/api/chat", json={"question": q.question})
    except httpx.HTTPError as exc:
        return Outcome(q, "error", None, None, f"HTTP: {exc}", 0)
    if response.status_code != 200:
        return Outcome(q, "error", None, None, f"HTTP {response.status_code}: "
                       f"{response.text[:200]}", 0)
    answer = response.json()
    plan, result = answer.get("plan") or {}, answer.get("result") or {}
    return Outcome(q, classify(q, answer), plan.get("planner"), plan.get("code"),
                   answer.get("message", ""), result.get("row_count", 0))


def evaluate(url: str, questions: list[Question], timeout_s: float = 120,
             progress: Callable[[Outcome], None] | None = None,
             token: str | None = None) -> list[Outcome]:
    """Every question in turn (one conversation each, so none leans on another), asked
    with the API token `token` (Authorization: Bearer)."""
    outcomes = []
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=url, timeout=timeout_s, headers=headers) as client:
        for q in questions:
            o = ask(client, q)
            outcomes.append(o)
            if progress:
                progress(o)
    return outcomes

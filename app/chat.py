"""One chat turn: question -> plan -> guard -> sandbox run -> stored answer.

When a plan fails (refused by the guard, or the code errors) a planner that can
revise (the LLM planner) gets one more attempt with the error in hand.
"""

from __future__ import annotations

import logging
from typing import Any

from app.catalog import Catalog
from app.planners.base import CannotPlan, Plan, Planner
from app.planners.suggestions import suggestions_for
from app.runs import Runs
from app.storage import Storage, new_id

log = logging.getLogger("corral.chat")

RETRY_STATUSES = {"rejected", "error"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summarize(plan: Plan, result: dict[str, Any]) -> str:
    """The one-line chat bubble for a plan that ran (or was refused)."""
    status = result["status"]
    error = (result.get("error") or {}).get("message", "")
    if status == "ok":
        line = f"{plan.explanation.rstrip('.')}: {_plural(result['row_count'], 'row')}"
        if result.get("truncated"):
            line += f" (truncated: only the first {result['row_count']} are shown)"
        return line + "."
    if status == "rejected":
        return f"The plan was refused before running: {error}"
    if status == "error":
        return f"The query failed: {error}"
    # The result's error (shown once, under its heading, by the UI) has the rest: the
    # answer line does not repeat it.
    return f"The sandbox stopped the run ({status}): there is no table this time."


class Chat:
    def __init__(self, planner: Planner, catalog: Catalog, runs: Runs, storage: Storage,
                 metrics: Any) -> None:
        self.planner = planner
        self.catalog = catalog
        self.runs = runs
        self.storage = storage
        self.metrics = metrics

    async def ask(
        self, question: str, conversation_id: str | None, dataset: str | None,
        user_id: str | None = None, catalog: Catalog | None = None,
    ) -> dict[str, Any]:
        """One turn for `user_id` (the owner of the conversation; None: no identity), over
        `catalog` (the datasets that user may see; app/visibility.py), by default all."""
        catalog = catalog or self.catalog
        history = (await self.storage.history(conversation_id, user_id=user_id)
                   if conversation_id else [])
        cid = conversation_id or new_id()
        # Every run of this turn is audited with who asked what.
        asked = {"conversation_id": cid, "user_id": user_id, "question": question}
        try:
            planned = await self.planner.plan(question, catalog, history, dataset)
        except Exception:  # a planner bug must not turn into a 500
            log.exception("planner %s failed on %r", self.planner.name, question)
            planned = CannotPlan(
                "The planner failed on this question (the error is in the server log); "
                "try rephrasing it or one of these.",
                suggestions_for(catalog, dataset),
            )
        result: dict[str, Any] | None = None
        suggestions: list[str] = []
        if isinstance(planned, CannotPlan):
            self._count(self.planner.name, "cannot_plan")
            message, suggestions, plan = planned.message, planned.suggestions, None
        else:
            self._count(planned.planner, "planned")
            plan = planned
            result = await self.runs.run(plan.language, plan.code, catalog=catalog, **asked)
            if result["status"] in RETRY_STATUSES:
                error = (result.get("error") or {}).get("message", result["status"])
                revised = await self.planner.revise(
                    question, catalog, history, plan, error, dataset
                )
                if isinstance(revised, Plan):
                    self._count(revised.planner, "retried")
                    plan = revised
                    result = await self.runs.run(plan.language, plan.code, catalog=catalog, **asked)
            if result["status"] != "ok":
                self._count(plan.planner, "failed")
                suggestions = suggestions_for(catalog, plan.dataset or dataset)
            message = summarize(plan, result)

        if not conversation_id:
            await self.storage.create_conversation(question[:80], cid, user_id=user_id)
        answer = await self.storage.add_message(
            cid, question, plan.public() if plan else None, result, message, suggestions,
            user_id=user_id,
        )
        if result is not None:
            await self.storage.link_run(result["run_id"], answer["id"])
        return answer

    def _count(self, planner: str, outcome: str) -> None:
        self.metrics.plans.labels(planner=planner, outcome=outcome).inc()

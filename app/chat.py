"""One chat turn: question -> plan -> guard -> sandbox run -> stored answer.

When a plan fails (refused by the guard, or the code errors) a planner that can
revise (the LLM planner) gets one more attempt with the error in hand. Code the
person edited takes the same path from the guard on (`Chat.rerun`): no planner
reads it, and it is stored as an answer of their conversation.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from app.catalog import Catalog
from app.planners.base import CannotPlan, Plan, Planner
from app.planners.suggestions import suggestions_for
from app.runs import Runs
from app.storage import Storage, new_id

log = logging.getLogger("corral.chat")

RETRY_STATUSES = {"rejected", "error"}
# The planner name of code the person edited and ran again (app/planners/base.py
# reading_of says so in the reading).
EDITED = "edited"
LANGUAGE_NAMES = {"sql": "SQL", "python": "Python"}
_EDITED_OF = re.compile(r"^Edited (SQL|Python) of: ")


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
    def __init__(self, planner: Planner, runs: Runs, storage: Storage, metrics: Any) -> None:
        self.planner = planner
        self.runs = runs
        self.storage = storage
        self.metrics = metrics

    async def ask(
        self, question: str, conversation_id: str | None, dataset: str | None, *,
        catalog: Catalog, user_id: str | None = None,
    ) -> dict[str, Any]:
        """One turn for `user_id` (the owner of the conversation; None: no identity), over
        `catalog`: the datasets that user may see (app/visibility.py). There is no default,
        so a caller that forgets it fails loudly instead of showing every dataset."""
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
        steer: dict[str, Any] = {}  # the question back, or the follow-ups
        if isinstance(planned, CannotPlan):
            self._count(self.planner.name, "cannot_plan")
            message, suggestions, plan = planned.message, planned.suggestions, None
            if planned.clarify:
                steer["clarify"] = planned.clarify.public()
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
            else:
                steer["follow_ups"] = self._follow_ups(question, plan, catalog, history)
            message = summarize(plan, result)

        if not conversation_id:
            await self.storage.create_conversation(question[:80], cid, user_id=user_id)
        return await self._store(cid, question, plan, result, message, suggestions, user_id,
                                 **steer)

    def _follow_ups(self, question: str, plan: Plan, catalog: Catalog,
                    history: list[dict[str, Any]]) -> list[str]:
        try:
            return self.planner.follow_ups(question, plan, catalog, history)
        except Exception:  # follow-ups are an extra: their bug must not cost the answer
            log.exception("follow-ups of planner %s failed on %r", self.planner.name, question)
            return []

    async def rerun(
        self, language: str, code: str, conversation_id: str, edited: str | None, *,
        catalog: Catalog, user_id: str | None = None,
    ) -> dict[str, Any]:
        """Run code the person edited (from the answer to the question `edited`, if
        known) through the same guard and sandbox path as a planned turn, as a run of
        `user_id` in their conversation `conversation_id` (which must be theirs), over
        `catalog` (the datasets that user may see)."""
        name = LANGUAGE_NAMES.get(language, language)
        edited = _EDITED_OF.sub("", edited) if edited else None  # an edit of an edit
        question = f"Edited {name}" + (f" of: {edited}" if edited else "")
        plan = Plan(language, code, f"Your edited {name}, run as written.", EDITED)
        result = await self.runs.run(language, code, conversation_id=conversation_id,
                                     user_id=user_id, question=question, catalog=catalog)
        self._count(EDITED, "planned" if result["status"] == "ok" else "failed")
        suggestions = [] if result["status"] == "ok" else suggestions_for(catalog, None)
        message = summarize(plan, result)
        return await self._store(conversation_id, question, plan, result, message, suggestions,
                                 user_id)

    async def _store(
        self, cid: str, question: str, plan: Plan | None, result: dict[str, Any] | None,
        message: str, suggestions: list[str], user_id: str | None,
        clarify: dict[str, Any] | None = None, follow_ups: list[str] | None = None,
    ) -> dict[str, Any]:
        answer = await self.storage.add_message(
            cid, question, plan.public() if plan else None, result, message, suggestions,
            user_id=user_id, clarify=clarify, follow_ups=follow_ups,
        )
        if result is not None:
            await self.storage.link_run(result["run_id"], answer["id"])
        return answer

    def _count(self, planner: str, outcome: str) -> None:
        self.metrics.plans.labels(planner=planner, outcome=outcome).inc()

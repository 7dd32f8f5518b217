"""One run of a plan: guard -> capacity slot -> sandbox -> audit row -> metrics.

Shared by /api/chat and /api/query so both paths are guarded, capped, measured
and audited the same way.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from app.capacity import Capacity
from app.catalog import Catalog
from app.executors.base import Executor
from app.executors.outcome import answer_problem, untrusted_message
from app.guard import GuardRejection, check_plan
from app.metrics import Metrics
from app.settings import Settings
from app.storage import Storage
from runner.contract import failed_result, make_request

log = logging.getLogger("corral.runs")

# What an analyst reads when the sandbox, not their question, failed. The details
# (exception text, the operator's commands) go to the server log, and /readyz says
# whether the backend is down; an analyst can do nothing with them.
PLAIN_MESSAGES = {
    "unavailable": "No sandbox could be started to answer this, so there is no result. "
                   "Please try again in a minute; if it keeps happening, tell your operator "
                   "(the details are in the server log under run {run_id}).",
    "crashed": "The sandbox stopped without a usable answer. Please try again; if it keeps "
               "happening, tell your operator (the details are in the server log under "
               "run {run_id}).",
}


def _plain(result: dict[str, Any], executor: str) -> dict[str, Any]:
    """The result with a plain message for a sandbox failure; the detail is logged."""
    template = PLAIN_MESSAGES.get(result["status"])
    if template is None or result["error"] is None:
        return result
    log.warning("run %s %s on %s: %s", result["run_id"], result["status"], executor,
                result["error"]["message"])
    plain = template.format(run_id=result["run_id"])
    return dict(result, error=dict(result["error"], message=plain))


class Runs:
    def __init__(
        self, settings: Settings, executor: Executor, capacity: Capacity, storage: Storage,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.executor = executor
        self.capacity = capacity
        self.storage = storage
        self.metrics = metrics

    async def run(
        self, language: str, code: str, max_rows: int | None = None, *, catalog: Catalog,
        conversation_id: str | None = None, user_id: str | None = None,
        question: str | None = None,
    ) -> dict[str, Any]:
        """Guard and run `code` for `user_id` (asking `question`, when from the chat) over
        `catalog` (the datasets that user may see: no default, so a caller that forgets it
        fails loudly instead of showing every dataset); return a runner result. Raises
        CapacityExceeded (-> 429)."""
        run_id = uuid.uuid4().hex
        who = {"conversation_id": conversation_id, "user_id": user_id, "question": question}
        try:
            check_plan(language, code, catalog.table_names)
        except GuardRejection as exc:
            result = failed_result(run_id, "rejected", None, str(exc), 0)
            await self._finish(result, language, code, 0, who)
            return result

        request = make_request(
            run_id, language, code, max_rows or self.settings.max_rows,
            self.settings.run_timeout_ms, self.settings.max_output_bytes,
            self.settings.max_columns,
            # A user who may not see every dataset: the runner opens only these tables.
            tables=catalog.table_names if catalog.restricted else None,
        )
        with self.capacity.slot():
            started = time.monotonic()
            try:
                result = await self.executor.run(request)
            except Exception as exc:  # executors should not raise; keep serving if one does
                log.exception("executor %s raised for run %s", self.executor.name, run_id)
                result = failed_result(
                    run_id, "unavailable", None, f"the sandbox could not be run: {exc}", 0
                )
            duration_ms = int((time.monotonic() - started) * 1000)
        result = _plain(self._owned(request, result, duration_ms), self.executor.name)
        self.metrics.run_duration.observe(duration_ms / 1000)
        await self._finish(result, language, code, duration_ms, who)
        return result

    def _owned(
        self, request: dict[str, Any], result: Any, duration_ms: int
    ) -> dict[str, Any]:
        """The executor's result if it answers `request`; else a crashed result of our own.

        Every executor already checks the sandbox's answer (outcome.answer_problem); this
        is the last line before the audit row, so no identifier or shape the sandbox
        chose is ever recorded, whatever the backend.
        """
        problem = answer_problem(request, result, server=True)
        if problem is None:
            return result
        log.error("executor %s returned a result that does not answer run %s: %s",
                  self.executor.name, request["run_id"], problem)
        return failed_result(request["run_id"], "crashed", None, untrusted_message(problem),
                             duration_ms)

    async def _finish(
        self, result: dict[str, Any], language: str, code: str, duration_ms: int,
        who: dict[str, str | None],
    ) -> None:
        self.metrics.runs.labels(status=result["status"], language=language).inc()
        log.info(
            "run %s %s %s rows=%s %dms", result["run_id"], language, result["status"],
            result.get("row_count", 0), duration_ms,
        )
        await self.storage.record_run(
            result, language, code, self.executor.name, duration_ms, **who
        )

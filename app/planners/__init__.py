"""Planners turn a question into a plan (SQL or Python) or say why they cannot;
`make_planner` picks one."""

from __future__ import annotations

from app.planners.base import CannotPlan, Plan, Planner
from app.settings import Settings

__all__ = ["CannotPlan", "Plan", "Planner", "make_planner"]


def make_planner(settings: Settings) -> Planner:
    """LLM_BASE_URL set -> the OpenAI-compatible planner, else the offline one. Imported
    lazily, like the executors: the offline planner needs no HTTP client."""
    if settings.llm_base_url:
        from app.planners.llm import LLMPlanner

        return LLMPlanner(settings)
    from app.planners.offline import OfflinePlanner

    return OfflinePlanner()

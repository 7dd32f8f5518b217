"""Planners turn a question into a plan (SQL or Python) or say why they cannot."""

from app.planners.base import CannotPlan, Plan, Planner, make_planner

__all__ = ["CannotPlan", "Plan", "Planner", "make_planner"]

"""The evaluation's report: counts per shape, per dataset and per style as a text
table (confidently wrong first) and as JSON."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from app.evaluation.run import OUTCOMES, Outcome


def _counts(outcomes: list[Outcome]) -> dict[str, int]:
    c = Counter(o.outcome for o in outcomes)
    return {"n": len(outcomes)} | {k: c.get(k, 0) for k in OUTCOMES}


def _by(outcomes: list[Outcome], attr: str) -> dict[str, dict[str, int]]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[getattr(o.question, attr)].append(o)
    return {k: _counts(v) for k, v in sorted(groups.items())}


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    planners = sorted({o.planner for o in outcomes if o.planner})
    return {
        "planner": ",".join(planners) or None,
        "total": _counts(outcomes),
        "by_shape": _by(outcomes, "shape"),
        "by_dataset": _by(outcomes, "dataset"),
        "by_style": _by(outcomes, "style"),
        "questions": [
            {"id": o.question.id, "dataset": o.question.dataset, "shape": o.question.shape,
             "style": o.question.style, "question": o.question.question,
             "outcome": o.outcome, "code": o.code, "message": o.message, "rows": o.rows}
            for o in outcomes
        ],
    }


def _line(label: str, c: dict[str, int]) -> str:
    n = c["n"] or 1
    cells = "".join(f"{c[k]:>6} {100 * c[k] / n:5.1f}%" for k in OUTCOMES)
    return f"{label:<22}{c['n']:>5}{cells}"


def table(data: dict[str, Any]) -> str:
    names = {"wrong": "conf. wrong"}  # wrong with status ok: it looks like an answer
    head = f"{'':<22}{'n':>5}" + "".join(f"{names.get(k, k):>13}" for k in OUTCOMES)
    lines = [f"planner: {data['planner']}", head]
    for section in ("by_shape", "by_dataset", "by_style"):
        lines.append(section.replace("_", " ") + ":")
        lines += [_line("  " + k, c) for k, c in data[section].items()]
    lines.append(_line("total", data["total"]))
    return "\n".join(lines)

"""Questions to offer a person: the canonical one per dataset for the empty screen, and
3-5 that the built-in planner answers when a question could not be answered.

Every planner uses these; the questions come from the manifest (`canonical_question`,
`example_questions`), so a new dataset brings its own.
"""

from __future__ import annotations

from app.catalog import Catalog

MAX_SUGGESTIONS = 5


def canonical_prompts(catalog: Catalog) -> list[dict[str, str]]:
    """One question per dataset, for the empty screen and `make smoke`."""
    return [{"dataset": d.name, "question": d.canonical_question}
            for d in catalog.datasets.values()]


def suggestions_for(catalog: Catalog, dataset: str | None) -> list[str]:
    """3-5 questions the offline planner answers, for one dataset or across all of them."""
    ds = catalog.get(dataset) if dataset else None
    if ds is not None:
        return list(ds.examples[:MAX_SUGGESTIONS])
    datasets = list(catalog.datasets.values())
    out = [d.canonical_question for d in datasets[:MAX_SUGGESTIONS - 1]]
    extras = [q for q in datasets[0].examples if q not in out] if datasets else []
    return (out + extras[:max(1, 3 - len(out))])[:MAX_SUGGESTIONS]

"""The datasets analysts can ask about, and one canonical question for each."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import CatalogDep
from app.models import Dataset, Suggestion
from app.planners.suggestions import canonical_prompts

router = APIRouter(prefix="/api", tags=["datasets"])


@router.get("/datasets", response_model=list[Dataset])
async def datasets(catalog: CatalogDep) -> list[dict[str, object]]:
    """Every dataset with its columns and first rows."""
    return catalog.public()


@router.get("/suggestions", response_model=list[Suggestion])
async def suggestions(catalog: CatalogDep) -> list[dict[str, str]]:
    """The canonical prompts, one per dataset, in catalog order."""
    return canonical_prompts(catalog)

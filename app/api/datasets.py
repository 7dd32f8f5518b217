"""The datasets analysts can ask about, and one canonical question for each."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import VisibleCatalogDep
from app.api.responses import errors
from app.models import Dataset, Suggestion
from app.planners.suggestions import canonical_prompts

router = APIRouter(prefix="/api", tags=["datasets"])


@router.get("/datasets", response_model=list[Dataset], responses=errors(401, 403, 503))
async def datasets(catalog: VisibleCatalogDep) -> list[dict[str, object]]:
    """Every dataset the user may see, with its columns and first rows."""
    return catalog.public()


@router.get("/suggestions", response_model=list[Suggestion], responses=errors(401, 403, 503))
async def suggestions(catalog: VisibleCatalogDep) -> list[dict[str, str]]:
    """The canonical prompts, one per dataset the user may see, in catalog order."""
    return canonical_prompts(catalog)

"""Per-dataset visibility: who may see a dataset (the manifest's `visible_to`) and the
catalog one person sees.

Every path to a dataset starts from the viewer's catalog made here: the catalog and
suggestion routes, the planner's scope, the guard's allowed tables and the `tables` of
the runner request (the runner opens only those). A dataset outside it is not named in
any answer: to its outsiders it does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.catalog import Catalog


@dataclass(frozen=True)
class Audience:
    """The users a dataset is visible to: any of these roles, or any of these groups."""
    roles: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()

    def admits(self, role: str, groups: Iterable[str]) -> bool:
        return role in self.roles or not self.groups.isdisjoint(groups)


def audience(entry: dict[str, Any]) -> Audience | None:
    """A manifest dataset entry's audience; None when it is visible to every user."""
    given = entry.get("visible_to")
    if given is None:
        return None
    return Audience(frozenset(given.get("roles", ())), frozenset(given.get("groups", ())))


def open_to_all(catalog: Catalog) -> list[str]:
    """The datasets every user sees (no visible_to): what a document anyone may read, such
    as /openapi.json, may name."""
    return [d.name for d in catalog.datasets.values() if d.visible_to is None]


def visible_catalog(catalog: Catalog, role: str, groups: Iterable[str]) -> Catalog:
    """The datasets a user with `role` in `groups` may see, as a catalog of their own
    (the same Dataset objects, so the planner's per-dataset caches still apply)."""
    from app.catalog import Catalog  # app.catalog imports this module

    groups = frozenset(groups)
    kept = [d for d in catalog.datasets.values()
            if d.visible_to is None or d.visible_to.admits(role, groups)]
    if len(kept) == len(catalog.datasets):
        return catalog
    return Catalog(kept, restricted=True)

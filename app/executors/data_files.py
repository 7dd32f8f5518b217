"""The dataset files a sandbox gets: every table's file name from the manifest, so a run
limited to some tables (the datasets its user may see, app/visibility.py) is given only
theirs by the executors that mount files per run (k8s, bwrap, and docker from a host
folder), and the start-up refusal where a sandbox would get them all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.catalog import Catalog
    from app.settings import Settings

MANIFEST = "manifest.json"


def table_files(folder: str | Path) -> dict[str, str]:
    """table -> its file name (relative to the folder), from folder/manifest.json."""
    manifest = json.loads((Path(folder) / MANIFEST).read_text())
    return {table: spec["file"] for entry in manifest["datasets"].values()
            for table, spec in entry["tables"].items()}


def files_for(tables: str, files: dict[str, str]) -> list[str]:
    """manifest.json and the files of `tables` (the request's comma list), in mount order."""
    return [MANIFEST, *sorted({files[t] for t in tables.split(",") if t in files})]


# What reading the manifest can raise when the folder is not what it should be.
UNREADABLE = (OSError, ValueError, KeyError, TypeError, AttributeError)


def visibility_refusal(settings: Settings, catalog: Catalog) -> str | None:
    """Why this server must not start: a dataset is visible to some users only, and the
    sandboxes' /data comes from where single files cannot be left out (a Docker named
    volume, or the datasets baked into the runner image, under Docker or Kubernetes).
    None when every sandbox can be given only what its user may see."""
    limited = sorted(d.name for d in catalog.datasets.values() if d.visible_to is not None)
    if not limited:
        return None
    why = None
    if settings.execution_mode == "docker" and not settings.runner_datasets_source.startswith("/"):
        why = no_host_folder(settings.runner_datasets_source)
    elif settings.execution_mode == "k8s" and not _k8s_volume(settings):
        why = ("the runner pods' datasets are the ones baked into the runner image (no "
               "volume in K8S_RUNNER_TEMPLATE or K8S_DATASETS_SOURCE): a runner pod gets all "
               "of /data from its image, so a run could read the files of datasets its user "
               "may not see. Mount the datasets from a volume (the chart's "
               "datasets.existingClaim; each runner pod then gets only the files its user may "
               "see), or remove visible_to.")
    if why is None:
        return None
    return f"dataset {limited[0]} declares visible_to in manifest.json, but {why}"


def _k8s_volume(settings: Settings) -> bool:
    """Whether runner pods mount their datasets from a volume (the template the executor
    uses: the chart's K8S_RUNNER_TEMPLATE over K8S_DATASETS_SOURCE)."""
    from app.executors.k8s import load_template  # the Kubernetes client: only in k8s mode

    return bool(load_template(settings).get("datasets"))


def no_host_folder(source: str) -> str:
    """What is wrong with a Docker datasets source a single file cannot be taken from."""
    where = (f"RUNNER_DATASETS_SOURCE={source} is a named volume" if source else
             "RUNNER_DATASETS_SOURCE is empty (the datasets baked into the runner image)")
    return (
        f"{where}: a Docker sandbox gets all of /data from it, so a run could read the files "
        "of datasets its user may not see. Set RUNNER_DATASETS_SOURCE to the datasets "
        "folder's absolute path on the Docker host (each sandbox then gets only the files "
        "its user may see), use EXECUTION_MODE=bwrap or k8s, or remove visible_to."
    )

"""Which deployments may serve a dataset visible to some users only: every one whose
sandboxes can be given single files: Docker only from a host folder, Kubernetes only from
a volume (a named volume or the runner image's own /data comes whole). The refusal names
what to change."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from app.catalog import load_catalog
from app.executors.data_files import visibility_refusal
from app.settings import load_settings
from app.visibility import Audience

DATASETS = Path(__file__).resolve().parents[2] / "datasets"


def catalog(limited: bool):
    shipped = load_catalog(DATASETS)
    if limited:
        shipped.datasets["flights"] = copy.copy(shipped.datasets["flights"])
        shipped.datasets["flights"].visible_to = Audience(frozenset({"admin"}))
    return shipped


def refusal(mode: str, source: str, limited: bool = True) -> str | None:
    where = "k8s_datasets_source" if mode == "k8s" else "runner_datasets_source"
    settings = load_settings(execution_mode=mode, datasets_path=DATASETS, **{where: source})
    return visibility_refusal(settings, catalog(limited))


@pytest.mark.parametrize(("mode", "source"), [
    ("docker", "/srv/corral-data"), ("bwrap", ""), ("k8s", "pvc:fleet-data"),
    ("k8s", "configmap:small-data"), ("bwrap", "corral-datasets"),
])
def test_single_files_can_be_given(mode, source):
    assert refusal(mode, source) is None


@pytest.mark.parametrize("source", ["", "corral-datasets"])
def test_without_visible_to_any_source_serves(source):
    assert refusal("docker", source, limited=False) is None


def test_docker_from_the_image_or_a_volume_is_refused_with_the_fix():
    baked = refusal("docker", "")
    assert baked.startswith("dataset flights declares visible_to in manifest.json, but "
                            "RUNNER_DATASETS_SOURCE is empty (the datasets baked into the "
                            "runner image)")
    volume = refusal("docker", "corral-datasets")
    assert "RUNNER_DATASETS_SOURCE=corral-datasets is a named volume" in volume
    for message in (baked, volume):
        assert "absolute path on the Docker host" in message
        assert "EXECUTION_MODE=bwrap or k8s" in message and "remove visible_to" in message


def test_kubernetes_from_the_runner_image_is_refused_with_the_fix():
    baked = refusal("k8s", "")
    assert baked.startswith("dataset flights declares visible_to in manifest.json, but "
                            "the runner pods' datasets are the ones baked into the runner "
                            "image")
    assert "datasets.existingClaim" in baked and "remove visible_to" in baked


def test_kubernetes_with_the_charts_claim_serves(tmp_path):
    """The chart gives the claim in the runner template (K8S_RUNNER_TEMPLATE), not in
    K8S_DATASETS_SOURCE: that counts as a volume too."""
    template = tmp_path / "runner-template.json"
    template.write_text('{"datasets": {"pvc": "fleet-data"}}')
    settings = load_settings(execution_mode="k8s", datasets_path=DATASETS,
                             k8s_runner_template=str(template))
    assert visibility_refusal(settings, catalog(True)) is None

"""The inner engine holds exactly the images the tarballs carry (same ids), tagged."""

import json

import pytest

IMAGES = ["runner", "agent-server", "ui"]


@pytest.mark.parametrize("name", IMAGES)
def test_image_loaded_with_the_tarballs_id(host, name):
    manifest = json.loads(host.check_output(f"tar -xOf /airgap/{name}.tar manifest.json"))
    config = manifest[0]["Config"]
    tar_id = config.split("/")[-1].removesuffix(".json")
    engine_id = host.check_output(f"docker image inspect --format '{{{{.Id}}}}' corral/{name}:latest")
    assert engine_id == f"sha256:{tar_id}"


def test_inner_engine_uses_overlay2(host):
    assert host.check_output("docker info --format '{{.Driver}}'") == "overlay2"


def test_runner_image_runs_in_the_inner_engine(host):
    # The loaded image is usable, not only present: its Python and DuckDB import.
    out = host.check_output(
        "docker run --rm --network none --entrypoint python3 corral/runner:latest "
        "-c 'import duckdb; print(duckdb.__version__)'"
    )
    assert out.strip()

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


def test_runner_image_answers_a_request_in_the_inner_engine(host):
    # The loaded image is usable, not only present: one runner request, one result.
    request = json.dumps({
        "version": 1, "run_id": "molecule", "language": "sql",
        "code": "SELECT count(*) AS n FROM penguins", "max_rows": 10, "timeout_ms": 10000,
    })
    out = host.check_output(
        "echo %s | docker run -i --rm --network none corral/runner:latest", request
    )
    result = json.loads(out)
    assert result["status"] == "ok"
    assert result["rows"] == [[344]]

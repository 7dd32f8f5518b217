"""/api/datasets and /api/suggestions as a client sees them."""

from __future__ import annotations


def test_datasets_have_schemas_and_samples(api):
    response = api.get("/api/datasets")
    assert response.status_code == 200
    datasets = {d["name"]: d for d in response.json()}
    assert set(datasets) == {"penguins", "gapminder", "flights"}
    penguins = datasets["penguins"]
    assert penguins["row_count"] == 344 and penguins["license"]
    cols = {c["name"]: c for c in penguins["columns"]}
    assert cols["body_mass_g"]["description"] == "body mass in grams"
    assert len(penguins["sample"]["rows"]) == 5
    assert penguins["sample"]["rows"][0][:2] == ["Adelie", "Torgersen"]
    flights = datasets["flights"]
    assert flights["row_count"] == 336776
    # timestamps and NULLs come out as JSON
    row = flights["sample"]["rows"][0]
    assert isinstance(row[-1], str) and row[-1].startswith("2013-01-01")


def test_suggestions_are_the_canonical_prompts(api):
    suggestions = api.get("/api/suggestions").json()
    assert [s["dataset"] for s in suggestions] == ["penguins", "gapminder", "flights"]
    assert suggestions[0]["question"] == "What is the average body mass of penguins by species?"


def test_get_only(api):
    response = api.post("/api/datasets", json={})
    assert response.status_code == 405 and response.headers["allow"] == "GET"

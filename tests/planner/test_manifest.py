"""The manifest's JSON Schema and the checks beside it: a broken manifest stops the
start-up with a message that names the dataset, the table and the field."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from app.catalog import CatalogError, load_catalog
from app.manifest import ManifestError, validate

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = json.loads((ROOT / "datasets" / "manifest.json").read_text())


def broken(change) -> dict:
    data = copy.deepcopy(BUNDLED)
    change(data)
    return data


def refusal(data: dict) -> str:
    with pytest.raises(ManifestError) as caught:
        validate(data)
    return str(caught.value)


def test_the_bundled_manifest_is_valid():
    assert validate(copy.deepcopy(BUNDLED)) == BUNDLED


def test_a_bad_column_field_names_dataset_table_column_and_field():
    def change(d):
        d["datasets"]["flights"]["tables"]["airports"]["columns"][4]["synonyms"] = "altitude"
    message = refusal(broken(change))
    assert ("dataset 'flights', table 'airports', column 5 ('alt'), field 'synonyms': "
            "'altitude' is not of type 'array'") in message


def test_a_missing_required_field_is_named():
    message = refusal(broken(lambda d: d["datasets"]["penguins"].pop("canonical_question")))
    assert "dataset 'penguins': 'canonical_question' is a required property" in message


def test_an_unknown_field_is_refused_not_ignored():
    def change(d):
        d["datasets"]["gapminder"]["tables"]["gapminder"]["colums"] = []
    message = refusal(broken(change))
    assert "dataset 'gapminder', table 'gapminder'" in message and "'colums'" in message


def test_a_table_name_that_needs_quoting_is_refused():
    def change(d):
        d["datasets"]["penguins"]["tables"]["Penguin Data"] = (
            d["datasets"]["penguins"]["tables"].pop("penguins"))
    assert "dataset 'penguins', field 'tables'" in refusal(broken(change))


def test_a_key_to_an_unknown_column_is_named():
    def change(d):
        d["datasets"]["flights"]["keys"][0]["to"] = "airlines.code"
    message = refusal(broken(change))
    assert "dataset 'flights', key 1, field 'to': airlines.code is not a column" in message


def test_a_table_name_used_by_two_datasets_is_refused():
    def change(d):
        d["datasets"]["gapminder"]["tables"]["weather"] = (
            d["datasets"]["gapminder"]["tables"].pop("gapminder"))
    message = refusal(broken(change))
    assert "table 'weather'" in message and "already used by dataset" in message


def test_start_up_names_a_missing_file(tmp_path):
    data = {"version": 2, "datasets": {"penguins": BUNDLED["datasets"]["penguins"]}}
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path)
    assert "dataset 'penguins', table 'penguins': the file" in str(caught.value)
    assert "penguins.parquet is missing" in str(caught.value)


def test_start_up_names_a_declared_column_the_file_lacks(tmp_path):
    entry = copy.deepcopy(BUNDLED["datasets"]["penguins"])
    entry["tables"]["penguins"]["columns"][0]["name"] = "kind"
    (tmp_path / "manifest.json").write_text(json.dumps({"version": 2,
                                                        "datasets": {"penguins": entry}}))
    (tmp_path / "penguins.parquet").write_bytes((ROOT / "datasets/penguins.parquet").read_bytes())
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path)
    assert "dataset 'penguins', table 'penguins', field 'columns': kind not in" in str(
        caught.value)


def test_visible_to_names_a_bad_role_and_an_empty_audience():
    def bad_role(d):
        d["datasets"]["penguins"]["visible_to"] = {"roles": ["auditor"]}
    assert ("dataset 'penguins', field 'visible_to', field 'roles', field 0: 'auditor' is not "
            "one of ['analyst', 'admin']") in refusal(broken(bad_role))
    assert "dataset 'penguins', field 'visible_to'" in refusal(
        broken(lambda d: d["datasets"]["penguins"].update(visible_to={})))


def test_visible_to_roles_are_the_user_roles():
    """One source for the roles: the manifest schema's enum is checked against users.ROLES."""
    from app.auth.users import ROLES
    from app.manifest import schema

    roles = schema()["$defs"]["visible_to"]["properties"]["roles"]["items"]["enum"]
    assert tuple(roles) == ROLES


def test_visible_catalog_keeps_what_role_or_group_admits():
    from app.visibility import visible_catalog

    data = broken(lambda d: d["datasets"]["flights"].update(
        visible_to={"roles": ["admin"], "groups": ["ops"]}))
    folder = ROOT / "datasets"
    catalog = load_catalog(folder)
    catalog.datasets["flights"] = copy.copy(catalog.datasets["flights"])
    from app.visibility import audience
    catalog.datasets["flights"].visible_to = audience(data["datasets"]["flights"])
    assert visible_catalog(catalog, "admin", ()) is catalog
    assert visible_catalog(catalog, "analyst", ["ops"]) is catalog
    seen = visible_catalog(catalog, "analyst", ["sales"])
    assert seen.names == ["penguins", "gapminder"] and seen.restricted
    assert "airlines" not in seen.table_names and "penguins" in seen.table_names

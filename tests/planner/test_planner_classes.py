"""One test per question class the offline planner learned after the honesty rule:
missing values, derived columns, differences (change between two periods, gap between
two groups), first or last period past a threshold, units, top N per group. Each
question is planned, run with DuckDB over the real files and compared with the rows
of a reference query written by hand (not with the planner's SQL); each reading is
checked for saying what the plan did."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from app.catalog import CatalogError, load_catalog
from app.guard import check_sql
from app.planners.base import CannotPlan, Plan
from app.planners.offline import plan_question

ROOT = Path(__file__).resolve().parents[2]


def answer(question, catalog, duck):
    plan = plan_question(question, catalog, [])
    assert isinstance(plan, Plan), f"{question!r} was not planned: {plan}"
    check_sql(plan.code, catalog.table_names)
    return plan, sorted(duck.execute(plan.code).fetchall(), key=repr)


def reference(sql, duck):
    return sorted(duck.execute(sql).fetchall(), key=repr)


def same(got, want):
    assert len(got) == len(want), (got, want)
    for g, w in zip(got, want, strict=True):
        assert len(g) >= len(w)
        for a, b in zip(g[-len(w):] if len(g) > len(w) else g, w, strict=True):
            assert a == pytest.approx(b, abs=0.011) if isinstance(b, float) else a == b


MISSING = {
    "how many penguins have no recorded sex":
        "SELECT COUNT(*) FROM penguins WHERE sex IS NULL",
    "penguins with unknown sex per species":
        "SELECT species, COUNT(*) FROM penguins WHERE sex IS NULL GROUP BY species",
    "how many flights were cancelled in march":
        "SELECT COUNT(*) FROM flights WHERE dep_time IS NULL AND month = 3",
    "canceled flights per origin":
        "SELECT origin, COUNT(*) FROM flights WHERE dep_time IS NULL GROUP BY origin",
    "how many flights have no recorded arrival delay":
        "SELECT COUNT(*) FROM flights WHERE arr_delay IS NULL",
}


@pytest.mark.parametrize("question", MISSING)
def test_missing_values_are_a_condition_said_in_the_reading(question, catalog, duck):
    plan, rows = answer(question, catalog, duck)
    same(rows, reference(MISSING[question], duck))
    assert "is missing (no value recorded)" in plan.explanation


def test_no_before_a_measure_is_not_read_as_missing(catalog):
    """"flights with no delay" are flights on time, not flights without a delay value:
    asked back, not answered with the missing ones."""
    assert isinstance(plan_question("how many flights with no delay", catalog, []), CannotPlan)


DERIVED = {
    "total gdp of japan in 2007":
        "SELECT gdpPercap * pop FROM gapminder WHERE country = 'Japan' AND year = 2007",
    "top 3 countries by total gdp in 1952":
        "SELECT country, SUM(gdpPercap * pop) FROM gapminder WHERE year = 1952 "
        "GROUP BY country ORDER BY 2 DESC LIMIT 3",
    "number of flights per day of the week":
        "SELECT dayname(time_hour), COUNT(*) FROM flights GROUP BY 1",
    "avg dep delay by weekday from jfk":
        "SELECT dayname(time_hour), AVG(dep_delay) FROM flights WHERE origin = 'JFK' GROUP BY 1",
}


@pytest.mark.parametrize("question", DERIVED)
def test_derived_columns_of_the_manifest_are_asked_like_columns(question, catalog, duck):
    plan, rows = answer(question, catalog, duck)
    want = reference(DERIVED[question], duck)
    if "top 3" in question:  # ranked: compare the names and the totals
        rows = sorted(rows, key=lambda r: -r[-1])
        want = sorted(want, key=lambda r: -r[-1])
        assert [r[0] for r in rows] == [r[0] for r in want]
        assert rows[0][-1] == pytest.approx(want[0][-1], rel=1e-9)
    else:
        same(rows, want)
    assert "gdp" in plan.explanation or "weekday" in plan.explanation


def test_a_derived_column_with_a_bad_expression_stops_start_up_naming_it(tmp_path):
    manifest = json.loads((ROOT / "datasets" / "manifest.json").read_text())
    entry = copy.deepcopy(manifest["datasets"]["gapminder"])
    entry["tables"]["gapminder"]["derived"][0]["expression"] = "gdpPercap * population"
    (tmp_path / "manifest.json").write_text(json.dumps({"version": 2,
                                                        "datasets": {"gapminder": entry}}))
    (tmp_path / "gapminder.parquet").write_bytes(
        (ROOT / "datasets" / "gapminder.parquet").read_bytes())
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path)
    assert "table 'gapminder', derived column 'gdp', field 'expression'" in str(caught.value)

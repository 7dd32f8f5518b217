from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from app.catalog import Catalog, load_catalog, view_sql

DATASETS = Path(__file__).resolve().parents[2] / "datasets"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(DATASETS)


@pytest.fixture(scope="session")
def duck(catalog: Catalog) -> duckdb.DuckDBPyConnection:
    """The real Parquet files as views with the dataset names, as the runner sees them."""
    con = duckdb.connect(":memory:")
    for ds in catalog.datasets.values():
        for table in ds.tables:
            con.execute(view_sql(table.name, table.file))
    return con

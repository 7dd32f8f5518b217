"""`corral datasets add|check|assemble` (bring your own data without touching code),
`corral eval` (score a planner on a question set; app/evaluation) and
`corral users|tokens|setup-code` (accounts and API tokens; app/auth/cli.py).

    corral datasets add PATH --name NAME [--datasets DIR]   # files -> manifest entry
    corral datasets check [--datasets DIR]                  # files agree with the manifest
    corral datasets assemble [--demo DIR] NAME=FOLDER ...   # one manifest from several

`add` reads Parquet or CSV files with DuckDB, refuses bad ones with the reason,
profiles the columns and writes a proposed manifest entry (and copies the files)
for a person to review. Nothing is half-written: every file is read and the whole
new manifest validated before anything in DIR changes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from app.auth import cli as auth_cli
from app.dataset_entry import dataset_entry
from app.dataset_files import (
    DEFAULT_MAX_BYTES,
    SUFFIXES,
    TABLE_NAME,
    DatasetFileError,
    check_table,
    profile_table,
    suggested_name,
)
from app.manifest import MANIFEST, ManifestError, load, validate

PROFILE_MEMORY = "1GB"


class CommandError(Exception):
    """The command cannot go on; the message says why and what to do."""


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
        if not files:
            raise CommandError(f"{path}: no .parquet or .csv files in this folder")
        return files
    if not path.exists():
        raise CommandError(f"{path}: no such file or folder")
    return [path]


def _current(folder: Path) -> dict[str, Any]:
    if not (folder / MANIFEST).exists():
        return {"version": 2, "datasets": {}}
    return load(folder)


def _check_target(manifest: dict[str, Any], folder: Path, name: str, files: list[Path],
                  replace: bool) -> None:
    if not TABLE_NAME.match(name):
        raise CommandError(f"--name {name!r}: use a lower-case identifier such as "
                           f"{suggested_name(name)!r}")
    if name in manifest["datasets"] and not replace:
        raise CommandError(f"--name {name!r}: the dataset exists in {folder / MANIFEST}; "
                           "pass --replace to write it again")
    others = {t: d for d, e in manifest["datasets"].items() if d != name for t in e["tables"]}
    for f in files:
        table = f.stem
        if table in others:
            raise CommandError(f"{f}: the table name {table!r} is used by dataset "
                               f"{others[table]!r}; rename the file")
        target = folder / f.name
        if target.exists() and target.resolve() != f.resolve() and not replace:
            raise CommandError(f"{target} exists; pass --replace or rename {f}")


def _write(folder: Path, manifest: dict[str, Any], files: list[Path]) -> None:
    """Copy the files under temporary names, then rename everything into place."""
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for f in files:
            target = folder / f.name
            if target.exists() and target.resolve() == f.resolve():
                continue
            tmp = folder / f".{f.name}.adding"
            shutil.copyfile(f, tmp)
            staged.append((tmp, target))
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".manifest.", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(manifest, indent=2) + "\n")
        staged.append((Path(tmp_name), folder / MANIFEST))
    except OSError:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, target in staged:
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)


def add(path: Path, name: str, folder: Path, max_bytes: int, replace: bool) -> dict[str, Any]:
    files = _files(path)
    manifest = _current(folder)
    _check_target(manifest, folder, name, files, replace)
    with tempfile.TemporaryDirectory(prefix="corral-add-") as spill:
        # Bounded memory: DuckDB spills to a private temp folder past PROFILE_MEMORY.
        con = duckdb.connect(":memory:", config={"memory_limit": PROFILE_MEMORY,
                                                 "temp_directory": spill})
        try:
            profiles = [profile_table(con, f.stem, f, max_bytes) for f in files]
        finally:
            con.close()
    manifest["datasets"][name] = dataset_entry(name, profiles)
    validate(manifest, f"the new {MANIFEST}")
    _write(folder, manifest, files)
    return manifest["datasets"][name]


def check(folder: Path) -> list[str]:
    """One line per table: ok, or what differs."""
    manifest = load(folder)
    lines, con = [], duckdb.connect(":memory:")
    try:
        for name, entry in manifest["datasets"].items():
            for table, spec in entry["tables"].items():
                problems = check_table(con, folder, table, spec)
                status = "ok" if not problems else "FAILED: " + "; ".join(problems)
                lines.append(f"{name}.{table} ({spec['file']}): {status}")
    finally:
        con.close()
    return lines


def _chosen(name: str | None, folder: Path) -> dict[str, Any]:
    """The checked entries of one source folder: all of them, or the named one."""
    problems = [line for line in check(folder) if "FAILED" in line]
    if problems:
        raise CommandError(f"{folder}: " + "; ".join(problems))
    entries = load(folder)["datasets"]
    if name is None:
        return entries
    if name not in entries:
        raise CommandError(f"{name}={folder}: the manifest there has no dataset {name!r} "
                           f"(it has {', '.join(entries)})")
    return {name: entries[name]}


def assemble(demo: Path | None, sources: list[str]) -> dict[str, Any]:
    """One manifest from the demo folder (if given) and NAME=FOLDER sources, each checked
    first; with the files to copy next to it. What the Ansible role deploys."""
    folders = ([(None, demo)] if demo else []) + [_source(s) for s in sources]
    manifest: dict[str, Any] = {"version": 2, "datasets": {}}
    files: list[dict[str, str]] = []
    for name, folder in folders:
        for dataset, entry in _chosen(name, folder).items():
            manifest["datasets"][dataset] = entry
            files += [{"src": str(folder / t["file"]), "file": t["file"]}
                      for t in entry["tables"].values()]
    if not manifest["datasets"]:
        raise CommandError("no datasets: give --demo or NAME=FOLDER sources")
    names = [f["file"] for f in files]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise CommandError(f"two datasets use the file name(s) {', '.join(clashes)}; rename one")
    validate(manifest, "the assembled manifest")
    return {"manifest": manifest, "files": files}


def _source(text: str) -> tuple[str, Path]:
    name, sep, folder = text.partition("=")
    if not sep or not TABLE_NAME.match(name) or not folder:
        raise CommandError(f"{text!r}: expected NAME=FOLDER with a lower-case dataset name")
    return name, Path(folder)


def _report(entry: dict[str, Any], folder: Path, name: str) -> None:
    for table, spec in entry["tables"].items():
        print(f"{name}.{table}: {spec['row_count']} rows from {spec['file']}")
        for c in spec["columns"]:
            p = c["profile"]
            extra = f", {p['min']} .. {p['max']}" if "min" in p else ""
            extra += f", values {p['values'][:6]}" if "values" in p else ""
            print(f"  {c['name']} {c['type']}: {p['nulls']} null, {p['distinct']} distinct{extra}")
    for key in entry.get("keys", []):
        print(f"  key {key['from']} -> {key['to']}")
    print(f"wrote the entry {name!r} to {folder / MANIFEST}: review the title, description, "
          "license, column meanings, synonyms and example questions before you rely on it")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="corral", description="Corral's command line.")
    sub = parser.add_subparsers(dest="group", required=True)
    datasets = sub.add_parser("datasets", help="add and check datasets")
    cmds = datasets.add_subparsers(dest="command", required=True)
    default_dir = Path(os.environ.get("DATASETS_PATH") or "datasets")
    add_cmd = cmds.add_parser("add", help="files -> a manifest entry to review")
    add_cmd.add_argument("path", type=Path, help="a .parquet/.csv file or a folder of them")
    add_cmd.add_argument("--name", required=True, help="dataset name (lower-case identifier)")
    add_cmd.add_argument("--datasets", type=Path, default=default_dir,
                         help="the datasets folder (default: DATASETS_PATH or ./datasets)")
    add_cmd.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES,
                         help="refuse files larger than this (default 4 GiB)")
    add_cmd.add_argument("--replace", action="store_true", help="overwrite an existing entry")
    check_cmd = cmds.add_parser("check", help="files agree with the manifest")
    check_cmd.add_argument("--datasets", type=Path, default=default_dir)
    assemble_cmd = cmds.add_parser("assemble", help="one manifest from several folders (JSON)")
    assemble_cmd.add_argument("--demo", type=Path, help="include every dataset of this folder")
    assemble_cmd.add_argument("sources", nargs="*", help="NAME=FOLDER: one dataset of FOLDER")
    _eval_parser(sub)
    auth_cli.add_parsers(sub)
    return parser


def _eval_parser(sub: Any) -> None:
    cmd = sub.add_parser("eval", help="score a planner on a question set (execution match)")
    cmd.add_argument("questions", type=Path,
                     help="a question file (JSON, in the format of eval/questions.json)")
    cmd.add_argument("--planner", choices=("offline", "llm"), default="offline",
                     help="without --url: the planner of the local agent server")
    cmd.add_argument("--url", help="ask this running agent server instead of starting one")
    cmd.add_argument("--token-file", type=Path,
                     help="with --url: a file holding an API token (default: CORRAL_TOKEN)")
    cmd.add_argument("--datasets", type=Path,
                     default=Path(os.environ.get("DATASETS_PATH") or "datasets"),
                     help="the datasets the reference SQL reads (default: DATASETS_PATH "
                     "or ./datasets)")
    cmd.add_argument("--json", type=Path, dest="json_out", help="also write the report here")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.group == "eval":
        from app.evaluation.cli import run_eval  # imports the server only when needed
        return run_eval(args)
    if args.group in ("users", "tokens", "setup-code"):
        return auth_cli.run(args)
    try:
        if args.command == "add":
            entry = add(args.path, args.name, args.datasets, args.max_bytes, args.replace)
            _report(entry, args.datasets, args.name)
            return 0
        if args.command == "assemble":
            print(json.dumps(assemble(args.demo, args.sources)))
            return 0
        lines = check(args.datasets)
        print("\n".join(lines))
        return 1 if any("FAILED" in line for line in lines) else 0
    except (CommandError, DatasetFileError, ManifestError) as exc:
        print(f"corral: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

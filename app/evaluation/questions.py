"""A question file: each question with its dataset, shape, style and reference SQL,
validated with messages naming the field, and its expected answer computed by DuckDB."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from app.catalog import view_sql
from app.manifest import load

STYLES = ("formal", "typed")
REQUIRED = ("id", "dataset", "shape", "style", "question", "sql")


class QuestionFileError(Exception):
    """The question file is not usable; the message names the question and field."""


@dataclass
class Question:
    id: str
    dataset: str
    shape: str
    style: str
    question: str
    sql: str
    ordered: bool = False
    expected_columns: list[str] = field(default_factory=list)
    expected: list[tuple[Any, ...]] = field(default_factory=list)


def _question(i: int, item: Any, datasets: set[str]) -> Question:
    where = f"questions[{i}]"
    if not isinstance(item, dict):
        raise QuestionFileError(f"{where}: expected an object")
    for key in REQUIRED:
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise QuestionFileError(f"{where}.{key}: a non-empty string is required")
    if item["dataset"] not in datasets:
        raise QuestionFileError(f"{where}.dataset: {item['dataset']!r} is not in the manifest "
                                f"({', '.join(sorted(datasets))})")
    if item["style"] not in STYLES:
        raise QuestionFileError(f"{where}.style: one of {', '.join(STYLES)}")
    if not isinstance(item.get("ordered", False), bool):
        raise QuestionFileError(f"{where}.ordered: true or false")
    unknown = set(item) - set(REQUIRED) - {"ordered", "note"}
    if unknown:
        raise QuestionFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    return Question(*(item[k] for k in REQUIRED), ordered=item.get("ordered", False))


def load_questions(path: Path, datasets_path: Path) -> list[Question]:
    """Read and check the file, then run every reference query over the dataset files."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise QuestionFileError(f"{path}: {exc}") from None
    items = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise QuestionFileError(f"{path}: expected {{\"questions\": [ ... ]}} with questions")
    manifest = load(datasets_path)
    questions = [_question(i, item, set(manifest["datasets"])) for i, item in enumerate(items)]
    ids = [q.id for q in questions]
    twice = sorted({x for x in ids if ids.count(x) > 1})
    if twice:
        raise QuestionFileError(f"{path}: id used twice: {', '.join(twice)}")
    _expected(questions, manifest, datasets_path)
    return questions


def _expected(questions: list[Question], manifest: dict[str, Any], root: Path) -> None:
    con = duckdb.connect(":memory:")
    try:
        for entry in manifest["datasets"].values():
            for table, spec in entry["tables"].items():
                con.execute(view_sql(table, root / spec["file"]))
        for q in questions:
            try:
                cur = con.execute(q.sql)
                q.expected_columns = [d[0] for d in cur.description]
                q.expected = [tuple(r) for r in cur.fetchall()]
            except duckdb.Error as exc:
                raise QuestionFileError(f"question {q.id}.sql: {exc}") from None
    finally:
        con.close()

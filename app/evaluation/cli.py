"""`corral eval QUESTIONS.json [--planner offline|llm] [--url URL] [--json OUT]`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from app.evaluation.questions import QuestionFileError, load_questions
from app.evaluation.report import summary, table
from app.evaluation.run import evaluate


def run_eval(args: argparse.Namespace) -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per question is noise
    try:
        questions = load_questions(args.questions, args.datasets)
    except QuestionFileError as exc:
        print(f"corral eval: {exc}", file=sys.stderr)
        return 2
    if args.url:
        token = os.environ.get("CORRAL_TOKEN") or None
        if args.token_file:
            try:
                token = args.token_file.read_text().strip()
            except OSError as exc:
                print(f"corral eval: --token-file: {exc}", file=sys.stderr)
                return 2
        outcomes = evaluate(args.url, questions, token=token)
    else:
        from app.evaluation.server import LocalServer
        try:
            with LocalServer(args.planner, args.datasets) as server:
                outcomes = evaluate(server.url, questions, token=server.token)
        except (ValueError, RuntimeError) as exc:
            print(f"corral eval: {exc}", file=sys.stderr)
            return 2
    data = summary(outcomes)
    print(table(data))
    if args.json_out:
        args.json_out.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return 0

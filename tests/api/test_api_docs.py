"""docs/api.md is generated from the OpenAPI document (scripts/api_docs.py): this
fails when a route, status or model changed and `make api-docs` was not run."""

from __future__ import annotations

import subprocess
import sys

from agent_server import ROOT


def test_api_doc_matches_the_openapi_document():
    check = subprocess.run([sys.executable, "scripts/api_docs.py", "--check"], cwd=ROOT,
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr


def test_api_doc_lists_every_route():
    text = (ROOT / "docs" / "api.md").read_text()
    for heading in ("POST `/api/chat`", "POST `/api/query`", "GET `/api/conversations`",
                    "DELETE `/api/conversations/{conversation_id}`", "GET `/metrics`"):
        assert f"### {heading}" in text

"""Write docs/api.md from the agent server's OpenAPI document (`make api-docs`);
`--check` fails when the file differs, and tests/api/test_api_docs.py runs that check.

The routes, statuses and models come from the code (app/api/, app/models.py); only
the introduction below is written by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DOC = ROOT / "docs" / "api.md"

INTRO = """\
# Agent server HTTP API

<!-- Generated from the OpenAPI document by `make api-docs`; do not edit by hand.
     tests/api/test_api_docs.py fails when this file and the code disagree. -->

The UI container serves the static app and proxies `/api/` to the agent server
unchanged. Probes and metrics live at the root of the agent server; `/api/readyz`
is `/readyz` reachable through the UI's proxy (`scripts/smoke.py --wait` uses it). The live
OpenAPI document is at `/openapi.json` (`/docs` renders it) for signed-in clients (it names
the installed datasets); there `max_rows` is bounded by the server's `MAX_ROWS` and
`dataset` lists the installed datasets.

Bodies are JSON. Validation errors answer `422` with
`{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}` (`loc` names the field);
every other error answers `{"detail": "<one sentence a person can act on>"}`.
Text fields refuse a NUL character and lone surrogates (`"\\ud800"` in JSON) with 422.
A method a path does not have answers `405` with an `Allow` header. Bodies over
1 MiB answer `413`. When `MAX_SANDBOXES` sandboxes are already running, `/api/chat`
and `/api/query` answer `429` with a `Retry-After` header (seconds); requests never
queue without bound.

Every route except the probes, `/metrics`, `GET /api/auth/config`,
`POST /api/auth/login` and `POST /api/auth/setup` needs sign-in: an API token
(`Authorization: Bearer crl_...`) or the session cookie `corral_session` set by
sign-in; with the cookie, POST, PATCH and DELETE also send the session's CSRF token
in `X-CSRF-Token` (from `GET /api/auth/me` or the `corral_csrf` cookie). No or bad
credentials answer `401` (`WWW-Authenticate: Bearer`); signed in but not allowed
answers `403` naming what is missing. Another user's conversation answers `404`.
"""


def openapi() -> dict[str, Any]:
    from app.main import create_app

    return create_app().openapi()


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def type_of(schema: dict[str, Any]) -> str:
    """A short type expression: `Answer`, `[Dataset]`, `string | null`, `"sql" | "python"`."""
    if name := _ref_name(schema):
        return f"`{name}`"
    if "anyOf" in schema:
        return " \\| ".join(type_of(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " \\| ".join(f'`{json.dumps(v)}`' for v in schema["enum"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"[{type_of(schema.get('items', {}))}]"
    return kind


def constraints(schema: dict[str, Any]) -> str:
    parts = []
    for branch in schema.get("anyOf", [schema]):
        for key, label in (("minLength", "length ≥"), ("maxLength", "length ≤"),
                           ("minimum", "≥"), ("maximum", "≤"), ("pattern", "pattern")):
            if key in branch:
                value = branch[key]
                if isinstance(value, float) and value.is_integer():
                    value = int(value)  # FastAPI writes some bounds as floats
                value = f"`{value}`" if key == "pattern" else value
                parts.append(f"{label} {value}")
    if "pattern" in schema and "anyOf" in schema:
        parts.append(f"pattern `{schema['pattern']}`")
    if "default" in schema:
        parts.append(f"default `{json.dumps(schema['default'])}`")
    return ", ".join(parts)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _parameters(op: dict[str, Any]) -> list[str]:
    rows = []
    for p in op.get("parameters", []):
        rule = constraints(p["schema"])
        rows.append(f"| {p['in']} `{p['name']}` | {type_of(p['schema'])} | "
                    f"{_cell(p.get('description', ''))} {rule} |")
    if not rows:
        return []
    return ["| parameter | type | meaning |", "|---|---|---|", *rows, ""]


def _responses(op: dict[str, Any]) -> list[str]:
    lines = ["| status | body | when |", "|---|---|---|"]
    for status, resp in sorted(op["responses"].items()):
        content = resp.get("content", {})
        body = "none"
        for media, spec in content.items():
            body = type_of(spec.get("schema", {}))
            body = body if media == "application/json" else f"{media} {body}"
        headers = ", ".join(f"`{h}`" for h in resp.get("headers", {}))
        when = _cell(resp.get("description", "")) + (f" Headers: {headers}." if headers else "")
        lines.append(f"| {status} | {body} | {when} |")
    return [*lines, ""]


def _operation(method: str, path: str, op: dict[str, Any]) -> list[str]:
    lines = [f"### {method.upper()} `{path}`", ""]
    if op.get("description"):
        lines += [_cell(op["description"]), ""]
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        lines += [f"Request body: {type_of(body['schema'])}", ""]
    return lines + _parameters(op) + _responses(op)


def _model(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"### `{name}`", ""]
    if schema.get("description"):
        lines += [_cell(schema["description"]), ""]
    if "properties" not in schema:
        return lines
    required = set(schema.get("required", []))
    lines += ["| field | type | required | rules and meaning |", "|---|---|---|---|"]
    for field, spec in schema["properties"].items():
        rule = "; ".join(x for x in (constraints(spec), _cell(spec.get("description", ""))) if x)
        lines.append(f"| `{field}` | {type_of(spec)} | {'yes' if field in required else 'no'} "
                     f"| {rule} |")
    return [*lines, ""]


def render(spec: dict[str, Any]) -> str:
    lines = [INTRO, "## Routes", ""]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            lines += _operation(method, path, op)
    lines += ["## Models", ""]
    for name, schema in sorted(spec["components"]["schemas"].items()):
        lines += _model(name, schema)
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/api.md is stale")
    args = parser.parse_args()
    text = render(openapi())
    if args.check:
        if DOC.read_text() != text:
            print("docs/api.md is stale: run `make api-docs`", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The runner contract v1: loads runner/schema.json once and builds/validates messages.

Both sides use this module: the runner inside the sandbox and the agent server's
executors. Nothing here may import anything outside the standard library and
jsonschema, because it ships in the runner image.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema

SCHEMA_PATH = Path(__file__).with_name("schema.json")
VERSION = 1
DEFAULT_MAX_OUTPUT_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_COLUMNS = 500
# Warm-pool mode (runner/main.py warm_up): the executor sets WARM_ENV=1; the runner warms
# up, writes READY_MARK on stderr, then blocks reading its one request.
WARM_ENV = "CORRAL_RUNNER_WARM"
READY_MARK = b"corral-runner: ready\n"

# status -> the error type that goes with it when the executor writes the result itself
STATUS_ERROR_TYPE = {
    "timeout": "timeout",
    "oom": "oom",
    "output_limit": "output_limit",
    "crashed": "crashed",
    "unavailable": "sandbox_unavailable",
    "rejected": "rejected",
}


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


@lru_cache(maxsize=2)
def _validator(kind: str) -> jsonschema.protocols.Validator:
    # Imported here, not at the top: it costs ~75 ms and the runner (which starts
    # once per query) only builds results; it checks requests with request_check.py.
    import jsonschema

    full = schema()
    sub = {"$schema": full["$schema"], "$defs": full["$defs"], "$ref": f"#/$defs/{kind}"}
    cls = jsonschema.validators.validator_for(sub)
    return cls(sub)


def _first_error(kind: str, message: Any) -> str | None:
    errors = sorted(_validator(kind).iter_errors(message), key=lambda e: list(e.path))
    if not errors:
        return None
    err = errors[0]
    where = ".".join(str(p) for p in err.path) or "(root)"
    return f"{kind} field '{where}': {err.message}"


def request_error(message: Any) -> str | None:
    """None when `message` is a valid request, else one line naming the bad field."""
    return _first_error("request", message)


def result_error(message: Any) -> str | None:
    """None when `message` is a valid result, else one line naming the bad field."""
    return _first_error("result", message)


def make_request(
    run_id: str,
    language: str,
    code: str,
    max_rows: int,
    timeout_ms: int,
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
    max_columns: int = DEFAULT_MAX_COLUMNS,
    tables: list[str] | None = None,
) -> dict[str, Any]:
    """A request; `tables` (None: every table of the manifest) limits what the run opens."""
    request = {
        "version": VERSION,
        "run_id": run_id,
        "language": language,
        "code": code,
        "max_rows": max_rows,
        "timeout_ms": timeout_ms,
        "max_output_bytes": max_output_bytes,
        "max_columns": max_columns,
    }
    if tables is not None:
        request["tables"] = ",".join(tables)
    return request


def ok_result(
    run_id: str,
    columns: list[dict[str, str]],
    rows: list[list[Any]],
    truncated: bool,
    elapsed_ms: int,
) -> dict[str, Any]:
    return {
        "version": VERSION,
        "run_id": run_id,
        "status": "ok",
        "columns": columns,
        "rows": rows,
        "row_count": len(rows),
        "truncated": truncated,
        "elapsed_ms": elapsed_ms,
        "error": None,
    }


def failed_result(
    run_id: str, status: str, error_type: str | None, message: str, elapsed_ms: int
) -> dict[str, Any]:
    """A result with no table. error_type defaults to the one that goes with `status`."""
    return {
        "version": VERSION,
        "run_id": run_id,
        "status": status,
        "columns": [],
        "rows": [],
        "row_count": 0,
        "truncated": False,
        "elapsed_ms": elapsed_ms,
        "error": {"type": error_type or STATUS_ERROR_TYPE[status], "message": message},
    }

"""Turn how a sandbox ended into one schema-valid runner result.

Every local executor (docker, bwrap, unsafe-local) ends the same way: some bytes
on stdout, the tail of stderr, an exit state, and whether *we* stopped it (deadline,
output cap). The runner's own answer wins whenever it printed a believable one; when
it could not answer (killed, OOM, crashed), the executor writes the result from the
exit state here, so every backend reports the same failure the same way.

What the sandbox prints is untrusted: user code runs in the same process as the
runner and can write anything to its result stream. `answer_problem` is the one
check every executor (Kubernetes too) applies to it before it is believed: the
schema, then that it answers *this* request (run_id, a status a runner may give,
an error that goes with that status, row/column counts within what was asked).
An answer that fails it is reported as the sandbox failure it is (status crashed).
"""

from __future__ import annotations

import json
import logging
import signal
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from runner import contract

log = logging.getLogger(__name__)

# Bytes of stdout read beyond the request's max_output_bytes before we stop the
# sandbox: the runner's own envelope around a capped result needs a little room.
OUTPUT_MARGIN = 64 * 1024
STDERR_TAIL = 4096
# What a process that ran out of memory leaves on stderr (Python, C++, glibc, musl).
MEMORY_SIGNS = ("MemoryError", "std::bad_alloc", "Cannot allocate memory", "out of memory")


@dataclass
class Ending:
    """How one sandbox run ended, as seen from outside."""

    stdout: bytes
    stderr_tail: bytes = b""
    exit_code: int | None = None  # negative = killed by that signal (subprocess style)
    timed_out: bool = False
    output_exceeded: bool = False
    oom_killed: bool = False  # the kernel/cgroup said so (docker State.OOMKilled)
    exited: bool = False  # seen to end (stream closed, exit code read): nothing left running
    elapsed_ms: int = 0


def output_cap(request: dict[str, Any]) -> int:
    return int(request.get("max_output_bytes", contract.DEFAULT_MAX_OUTPUT_BYTES)) + OUTPUT_MARGIN


def result_from(request: dict[str, Any], end: Ending) -> dict[str, Any]:
    run_id = request["run_id"]

    def failed(status: str, message: str) -> dict[str, Any]:
        return contract.failed_result(run_id, status, None, message, end.elapsed_ms)

    if end.output_exceeded:
        return failed(
            "output_limit",
            f"The code wrote more than {output_cap(request) - OUTPUT_MARGIN} bytes of output, "
            "so the sandbox was stopped. Return fewer rows or columns, or aggregate first.",
        )
    if end.timed_out or _cpu_limit(end.exit_code):
        return failed(
            "timeout",
            f"The run did not finish within its {request['timeout_ms']} ms limit and the "
            "sandbox was stopped. Make the query cheaper (filter or aggregate earlier) "
            "or raise RUN_TIMEOUT_MS.",
        )
    answer, why_not = _parse(end.stdout)
    if answer is not None:
        problem = answer_problem(request, answer)
        if problem is None:
            return _owned(answer, end)
        log.warning("run %s: discarded the sandbox's answer: %s", run_id, problem)
        return failed("crashed", untrusted_message(problem))
    stderr = end.stderr_tail.decode("utf-8", "replace").strip()
    if end.oom_killed or _memory_signs(end, stderr):
        return failed(
            "oom",
            "The run used more memory than the sandbox allows and was stopped. Select fewer "
            "columns, aggregate earlier, or raise SANDBOX_MEMORY_LIMIT.",
        )
    if end.exit_code not in (0, None):
        how = _describe_exit(end.exit_code)
        tail = f": {stderr[-500:]}" if stderr else ""
        return failed("crashed", f"The sandbox {how} without an answer{tail}")
    return failed("crashed", f"The sandbox answered with {why_not}")


# The error types that go with each status a runner may answer with.
ERRORS_OF_STATUS = {
    "ok": (None,),
    "error": ("invalid_request", "sql_error", "python_error", "no_result", "not_allowed"),
    "timeout": ("timeout",),
    "oom": ("oom",),
    "output_limit": ("output_limit",),
    "crashed": ("crashed",),
}
# Statuses only the server gives (the guard, a backend that could not start).
SERVER_ERRORS_OF_STATUS = {"unavailable": ("sandbox_unavailable",), "rejected": ("rejected",)}
UNTRUSTED = "The sandbox returned an answer that does not fit the question it was sent, so it was discarded"


def untrusted_message(problem: str) -> str:
    """What a person sees for a discarded answer (the problem is cut: it may quote it)."""
    return f"{UNTRUSTED} ({problem[:300]})"


def answer_problem(request: dict[str, Any], answer: Any, *, server: bool = False) -> str | None:
    """None when `answer` is a schema-valid result that answers `request`, else why not.

    server=True also accepts the statuses only the server gives (for a result an
    executor wrote itself); a sandbox's answer is always checked with server=False.
    """
    problem = contract.result_error(answer)
    if problem:
        return f"it breaks the runner contract: {problem}"
    if answer["run_id"] != request["run_id"]:
        return "its run_id is not the one this run was given"
    status = answer["status"]
    allowed = dict(ERRORS_OF_STATUS, **(SERVER_ERRORS_OF_STATUS if server else {}))
    if status not in allowed:
        return f"status {status!r} is the server's to give, not the sandbox's"
    error_type = answer["error"]["type"] if answer["error"] else None
    if error_type not in allowed[status]:
        return f"status {status!r} with error type {error_type!r}"
    return _table_problem(request, answer)


def _table_problem(request: dict[str, Any], answer: dict[str, Any]) -> str | None:
    rows, width = answer["rows"], len(answer["columns"])
    if answer["status"] != "ok" and (rows or width or answer["truncated"]):
        return f"status {answer['status']!r} with a table"
    if answer["row_count"] != len(rows):
        return f"row_count {answer['row_count']} for {len(rows)} rows"
    if len(rows) > request["max_rows"]:
        return f"{len(rows)} rows where at most {request['max_rows']} were asked for"
    if answer["truncated"] and len(rows) != request["max_rows"]:
        return f"truncated with {len(rows)} rows, not max_rows ({request['max_rows']})"
    max_columns = request.get("max_columns", contract.DEFAULT_MAX_COLUMNS)
    if width > max_columns:
        return f"{width} columns where at most {max_columns} are allowed"
    bad = next((i for i, row in enumerate(rows) if len(row) != width), None)
    if bad is not None:
        return f"row {bad} has {len(rows[bad])} cells for {width} columns"
    return None


def _owned(answer: dict[str, Any], end: Ending) -> dict[str, Any]:
    """A copy of the answer (the parsed one is cached) with the timing the server saw."""
    owned = dict(answer)
    if end.elapsed_ms:  # the runner cannot have taken longer than its sandbox lived
        owned["elapsed_ms"] = min(answer["elapsed_ms"], end.elapsed_ms)
    return owned


def has_answer(stdout: bytes) -> bool:
    """True when stdout holds one complete, schema-valid result."""
    return _parse(stdout)[0] is not None


@lru_cache(maxsize=2)  # has_answer() then result_from() on the same bytes: parse once
def _parse(stdout: bytes) -> tuple[dict[str, Any] | None, str]:
    text = stdout.strip()
    if not text:
        return None, "nothing on stdout"
    try:
        message = json.loads(text.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "output that is not valid UTF-8"
    except (ValueError, RecursionError):
        return None, "output that is not one JSON object"
    problem = contract.result_error(message)
    if problem:
        return None, f"a result that breaks the runner contract ({problem[:300]})"
    return message, ""


def _cpu_limit(code: int | None) -> bool:
    """Killed by RLIMIT_CPU (SIGXCPU): code that held the CPU past every deadline."""
    return code in (-signal.SIGXCPU, 128 + signal.SIGXCPU)


def _memory_signs(end: Ending, stderr: str) -> bool:
    if any(sign in stderr for sign in MEMORY_SIGNS):
        return True
    # An allocation failure under RLIMIT_AS often ends in abort() or a segfault.
    return end.exit_code in (-signal.SIGABRT, -signal.SIGSEGV, 128 + signal.SIGABRT) and (
        "alloc" in stderr.lower()
    )


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    if code > 128:
        try:
            return f"exited with code {code} ({signal.Signals(code - 128).name})"
        except ValueError:
            pass
    return f"exited with code {code}"

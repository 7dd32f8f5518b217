"""Turn how a sandbox ended into one schema-valid runner result.

Every local executor (docker, bwrap, unsafe-local) ends the same way: some bytes
on stdout, the tail of stderr, an exit state, and whether *we* stopped it (deadline,
output cap). The runner's own answer wins whenever it printed a valid one; when it
could not answer (killed, OOM, crashed), the executor writes the result from the
exit state here, so every backend reports the same failure the same way.
"""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from runner import contract

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
        return dict(answer)  # a copy: the parsed one is cached
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
        return None, f"a result that breaks the runner contract ({problem})"
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

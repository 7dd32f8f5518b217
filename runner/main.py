"""The runner: read one request, run it, print exactly one result JSON on stdout.

    python -m runner                       # request JSON on stdin
    RUNNER_REQUEST='{...}' python -m runner  # the Kubernetes path

Environment: CORRAL_DATA_DIR (default /data: manifest.json + *.parquet),
CORRAL_DUCKDB_MEMORY (DuckDB memory_limit, default 256MB); in a Kubernetes Job also
CORRAL_RESULT_FRAME and CORRAL_PROCESS_LIMIT (runner/channel.py); CORRAL_RUNNER_WARM=1
(warm-pool mode: import DuckDB and pandas and open the locked connection first,
print READY_MARK on stderr, then block reading the one request; see warm_up()).
Exit code 0 means a result JSON was written (whatever its status); anything
else means the runner died and the executor must write the result itself.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from typing import Any

from runner import contract, database
from runner.channel import ResultChannel
from runner.contract import READY_MARK, WARM_ENV
from runner.errors import RunFailure, RunTimeout, invalid_request
from runner.limits import CapturedOutput, Deadline, take_stdout
from runner.request_check import request_problem
from runner.sql_mode import run_sql
from runner.table import Table, text

MAX_REQUEST_BYTES = 2 * 1024 * 1024  # code is capped at 100,000 characters by the schema
RUN_ID = re.compile(contract.schema()["$defs"]["request"]["properties"]["run_id"]["pattern"])
MAX_MESSAGE_CHARS = 2000  # an error message (runner/schema.json allows 4096)


def _is_complete_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def read_stdin() -> bytes:
    """Read the request from fd 0, at most MAX_REQUEST_BYTES + 1 bytes.

    Stops at EOF or as soon as a complete JSON object has arrived, so an executor
    whose attach stream cannot half-close stdin still gets its answer.
    """
    data = bytearray()
    while len(data) <= MAX_REQUEST_BYTES:
        chunk = os.read(0, 1 << 16)
        if not chunk:
            break
        data += chunk
        if data.rstrip().endswith(b"}") and _is_complete_json(data):
            break
    return bytes(data)


def read_request() -> dict[str, Any]:
    env = os.environ.get("RUNNER_REQUEST")
    raw = env.encode("utf-8", "surrogateescape") if env else read_stdin()
    if not raw.strip():
        raise invalid_request("no request: send one JSON object on stdin or in RUNNER_REQUEST")
    if len(raw) > MAX_REQUEST_BYTES:
        raise invalid_request(f"the request is larger than {MAX_REQUEST_BYTES} bytes; "
                              "send at most 100,000 characters of code")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid_request(
            f"the request is not valid UTF-8 (bad byte at offset {exc.start})") from None
    try:
        request = json.loads(text)
    except ValueError as exc:
        raise invalid_request(f"the request is not valid JSON: {exc}") from None
    return request


class ResultWriter:
    """Writes the one result, once: whoever comes first (main thread or watchdog) wins."""

    def __init__(self, fd: int, started: float, channel: ResultChannel | None = None):
        self._fd = fd
        self._channel = channel
        self._started = started
        self._lock = threading.Lock()
        self._written = False
        self.run_id = "unknown"
        self.max_output_bytes = contract.DEFAULT_MAX_OUTPUT_BYTES
        self.printed = CapturedOutput()  # what user code prints (stdout and stderr)

    def restart_clock(self) -> None:
        self._started = time.monotonic()

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self._started) * 1000)

    def failed(self, failure: RunFailure) -> dict[str, Any]:
        return contract.failed_result(self.run_id, failure.status, failure.error_type,
                                      text(failure.message, MAX_MESSAGE_CHARS), self.elapsed_ms())

    def write(self, result: dict[str, Any]) -> None:
        with self._lock:
            if self._written:
                return
            self._written = True
            line = data = self._encode(result)
            if self._channel is not None:
                self._channel.before_result()
                data = line + self._channel.end_line(line)
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
            if self._channel is not None:
                self._channel.after_result(line)

    def _encode(self, result: dict[str, Any]) -> bytes:
        try:
            data = json.dumps(result, ensure_ascii=False, allow_nan=False,
                              separators=(",", ":")).encode("utf-8", "replace")
        except (TypeError, ValueError) as exc:
            data = self._small(self.failed(RunFailure(
                "crashed", "crashed", f"the runner could not encode the result: {exc}")))
        if len(data) > self.max_output_bytes:
            data = self._small(self.failed(RunFailure(
                "output_limit", "output_limit",
                f"the result is {len(data)} bytes, over the limit of {self.max_output_bytes} "
                "bytes: select fewer rows or columns, or aggregate first")))
        return data + b"\n"

    @staticmethod
    def _small(result: dict[str, Any]) -> bytes:
        return json.dumps(result, separators=(",", ":")).encode()


class Warm:
    """What a warm runner prepared before its request arrived: the same connection
    execute() would open, made earlier. One request per process, so nothing is shared."""

    files: dict[str, Any] | None = None
    con: Any = None


def warm_up() -> None:
    """Pay the start-up costs (imports, datasets, the locked connection) before the request.

    A failure here is not reported now: execute() meets it again on the request and
    reports it exactly as a cold runner would.
    """
    try:
        from runner import python_mode  # noqa: F401 - the import is the point (pandas)

        Warm.files = database.dataset_files()
        Warm.con = database.connect(Warm.files)
    except Exception:  # noqa: BLE001 - see the docstring
        Warm.files = Warm.con = None
    os.write(2, READY_MARK)


def execute(request: dict[str, Any], writer: ResultWriter) -> Table:
    """Run the request and return its table; what the code prints goes to writer.printed."""
    tables = request.get("tables")
    if Warm.con is not None and (tables is None or set(Warm.files or ()) == set(tables.split(","))):
        files, con = Warm.files, Warm.con
    else:
        # A warm connection sees every table: a request limited to fewer opens its own.
        if Warm.con is not None:
            Warm.con.close()
            Warm.files = Warm.con = None
        files = database.dataset_files(tables)
        con = database.connect(files)
    language, code, max_rows = request["language"], request["code"], request["max_rows"]
    max_columns = request.get("max_columns", contract.DEFAULT_MAX_COLUMNS)
    if language == "python":
        from runner import python_mode  # pandas costs ~300 ms: SQL mode never loads it

    def give_up() -> None:
        writer.write(writer.failed(timeout_failure(request)))
        os._exit(0)

    with Deadline(request["timeout_ms"] / 1000, con.interrupt, give_up):
        if language == "sql":
            return run_sql(con, code, max_rows, max_columns)
        return python_mode.run_python(con, list(files), code, max_rows, max_columns)


def timeout_failure(request: dict[str, Any]) -> RunFailure:
    return RunFailure("timeout", "timeout",
                      f"the run took longer than its time limit of {request['timeout_ms']} ms "
                      "and was stopped: filter or aggregate more, or raise the limit")


def main() -> int:
    warm = os.environ.get(WARM_ENV) == "1"
    if warm:
        warm_up()
    started = time.monotonic()
    channel = ResultChannel.from_env()
    writer = ResultWriter(take_stdout(), started, channel)
    if channel is not None:
        channel.before_user_code()
    # Every Python-level write (user prints, warnings) is captured from here on, so
    # stdout carries the result line only, and stderr (merged into pod logs in
    # Kubernetes) stays quiet.
    sys.stdout = sys.stderr = writer.printed
    request: dict[str, Any] = {}
    try:
        request = read_request()
        if warm:
            writer.restart_clock()  # elapsed_ms counts from the request, as in a cold run
        run_id = request.get("run_id") if isinstance(request, dict) else None
        if isinstance(run_id, str) and RUN_ID.fullmatch(run_id):  # else "unknown"
            writer.run_id = run_id
        problem = request_problem(request)
        if problem:
            raise invalid_request(problem)
        for name in ("max_rows", "timeout_ms", "max_output_bytes", "max_columns"):  # 10.0 is a valid 10
            if name in request:
                request[name] = int(request[name])
        writer.max_output_bytes = request.get("max_output_bytes",
                                              contract.DEFAULT_MAX_OUTPUT_BYTES)
        table = execute(request, writer)
        result = contract.ok_result(writer.run_id, table.columns, table.rows, table.truncated,
                                    writer.elapsed_ms())
    except RunFailure as failure:
        result = writer.failed(failure)
    except RunTimeout:
        result = writer.failed(timeout_failure(request))
    except MemoryError:
        result = writer.failed(RunFailure("oom", "oom", "the run ran out of memory"))
    except BaseException as exc:  # noqa: BLE001 - the one result must still be written
        result = writer.failed(RunFailure(
            "crashed", "crashed", f"the runner failed: {type(exc).__name__}: {exc}"))
    printed = writer.printed.text()
    if printed:
        result["stdout"] = printed
    writer.write(result)
    return 0

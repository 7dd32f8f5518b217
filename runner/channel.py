"""The runner's result channel in a Kubernetes pod, where stdout and stderr share one log.

The executor reads the result from the pod log, and the kubelet merges a container's
stdout and stderr into that log. So, when the Job sets CORRAL_RESULT_FRAME (the
container's terminationMessagePath), the runner keeps everything but its own result
out of the log and marks where its result ends:

- fd 1 and fd 2 point at /dev/null before the request is read, so nothing user code or
  a library prints, and no child process it starts, reaches the log (prints are still
  captured into the result's `stdout` field by limits.CapturedOutput). Only the
  runner's private duplicate of the original stdout, opened before user code, writes.
- Before the result is written, every other process in the container is killed (the
  runner is PID 1 of its container), so nothing user code started can write after it.
- The result line is followed by an end line naming its length and SHA-256, and the
  same frame is written to the termination message file after the result. The
  executor accepts a result only when the bytes match the frame, so a flood, a stray
  line or a truncated log can never be taken for the result.
- RLIMIT_NPROC (CORRAL_PROCESS_LIMIT) caps processes and threads: Kubernetes has no
  per-pod field for it. The executor gives each runner pod its own uid, so the count
  is this pod's alone.

What this does not stop: in Python mode user code runs in the runner's own process,
so deliberately written code can find the private descriptor and the termination
file and write a well-framed result of its own. That forges only its own answer
(which `result = ...` can set anyway) and gains no access; the executor still
validates it against the schema and caps its size. Making it impossible needs user
code in a separate process without the descriptor (see docs/kubernetes.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal

END_KEY = "corral_result_end"


def frame(result_line: bytes) -> bytes:
    """The end marker for one result line (which includes its newline)."""
    digest = hashlib.sha256(result_line).hexdigest()
    end = {END_KEY: {"bytes": len(result_line), "sha256": digest}}
    return json.dumps(end, separators=(",", ":")).encode() + b"\n"


class ResultChannel:
    """The Kubernetes-mode extras around ResultWriter; a no-op when not configured."""

    def __init__(self, termination_file: str, process_limit: int | None):
        self.termination_file = termination_file
        self.process_limit = process_limit

    @classmethod
    def from_env(cls) -> ResultChannel | None:
        path = os.environ.get("CORRAL_RESULT_FRAME", "")
        if not path:
            return None
        limit = os.environ.get("CORRAL_PROCESS_LIMIT", "")
        return cls(path, int(limit) if limit.isdigit() else None)

    def before_user_code(self) -> None:
        """Silence fd 2 (fd 1 is already /dev/null) and cap the processes."""
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        if self.process_limit:
            try:
                resource.setrlimit(resource.RLIMIT_NPROC,
                                   (self.process_limit, self.process_limit))
            except (ValueError, OSError):
                pass  # a stricter limit set by the cluster stays in force

    def before_result(self) -> None:
        """As PID 1 of the container: end every process user code left behind."""
        if os.getpid() == 1:
            try:
                os.kill(-1, signal.SIGKILL)  # all processes we may signal, except ourselves
            except OSError:
                pass  # none left

    def end_line(self, result_line: bytes) -> bytes:
        return frame(result_line)

    def after_result(self, result_line: bytes) -> None:
        """The frame again, as the container's termination message (the kubelet keeps it
        in the pod status; truncated past 4 KiB, which it never reaches)."""
        try:
            fd = os.open(self.termination_file, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
        except OSError:
            return  # the log's end line still frames the result
        try:
            os.write(fd, frame(result_line))
        finally:
            os.close(fd)

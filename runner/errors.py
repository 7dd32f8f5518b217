"""The one exception type the runner's parts raise to end a run with a typed result."""

from __future__ import annotations


class RunFailure(Exception):
    """Ends the run: becomes a result with this status, error type and message."""

    def __init__(self, status: str, error_type: str, message: str):
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


class RunTimeout(BaseException):
    """Raised in the main thread at the deadline.

    A BaseException, so user code's `except Exception:` cannot swallow it.
    """


def invalid_request(message: str) -> RunFailure:
    return RunFailure("error", "invalid_request", message)

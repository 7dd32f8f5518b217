"""The one interface every sandbox backend implements (docker, bwrap, k8s).

An executor takes a runner request (runner/schema.json), runs it in a fresh
sandbox that it removes afterwards in every outcome (a sandbox seen to exit may be
removed just after its answer returns: drain() waits for that), and returns a result that
is valid against the same schema. It never raises for a failure of the code or
of the sandbox: those come back as a result with a status (timeout, oom,
output_limit, crashed, unavailable). It raises ExecutorUnavailable only from
check(), which /readyz calls.
"""

from __future__ import annotations

import abc
from typing import Any

# Label (docker) / label key (k8s) that marks a sandbox as Corral's, so leftovers
# from a crashed server can be found and removed.
SANDBOX_LABEL = "io.corral.sandbox"
SANDBOX_LABEL_VALUE = "runner"
# Which deployment made the sandbox (DEPLOYMENT_ID): sweeps and `make clean` touch only
# their own, never those of another Corral on the same engine.
DEPLOYMENT_LABEL = "io.corral.deployment"

# The unprivileged uid/gid every sandbox runs as (the runner image's `runner` user).
SANDBOX_UID = 10001

# Environment every sandbox gets: native libraries must not start a thread per host
# core inside a fraction of a CPU, and Python must not write bytecode or buffer output.
SANDBOX_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
}


class ExecutorUnavailable(Exception):
    """The backend cannot run sandboxes; the message names the fix."""


class Executor(abc.ABC):
    name: str = "abstract"
    # Set by check() when the backend runs with weaker isolation than it should, by the
    # operator's explicit choice (e.g. bwrap without cgroups); /readyz shows it.
    weaker: str | None = None

    @abc.abstractmethod
    async def run(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run one request in a fresh sandbox; always return a schema-valid result."""

    @abc.abstractmethod
    async def check(self) -> None:
        """Raise ExecutorUnavailable (naming the fix) if runs cannot succeed now."""

    def use_metrics(self, metrics: Any) -> None:
        """Report backend-specific metrics (the warm pool's) into the server's registry."""

    def drain(self) -> None:
        """Block until the sandboxes of finished runs are removed (blocking; for tests and
        shutdown). Backends that remove before answering have nothing to wait for."""

    async def sweep(self) -> int:
        """Remove sandboxes a previous server process left behind; return how many."""
        return 0

    async def close(self) -> None:
        """Release clients and connections."""

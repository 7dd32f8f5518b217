"""UnsafeLocalExecutor: the runner as a plain child process, with NO isolation.

For development on machines with neither Docker nor bubblewrap, and only when
the settings say so (EXECUTION_MODE=unsafe-local plus ALLOW_UNSAFE_LOCAL=true):
LLM-written code then runs with this server's user, files and network. Deadline,
output cap and statuses are the same as the real sandboxes.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from app.executors.base import SANDBOX_ENV, Executor, ExecutorUnavailable
from app.executors.outcome import output_cap, result_from
from app.executors.process import run_process
from app.settings import Settings

log = logging.getLogger(__name__)


class UnsafeLocalExecutor(Executor):
    name = "unsafe-local"

    def __init__(self, settings: Settings) -> None:
        if not settings.allow_unsafe_local:
            raise ExecutorUnavailable(
                "EXECUTION_MODE=unsafe-local needs ALLOW_UNSAFE_LOCAL=true: it runs code "
                "with no sandbox at all"
            )
        self.settings = settings
        log.warning(
            "EXECUTION_MODE=unsafe-local: generated code runs WITHOUT ANY SANDBOX, with this "
            "server's user, files and network. Never use this where others can ask questions."
        )

    async def run(self, request: dict[str, Any]) -> dict[str, Any]:
        s = self.settings
        env = {
            **SANDBOX_ENV,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(Path(s.runner_dir).resolve().parent),
            "CORRAL_DATA_DIR": str(s.datasets_path),
        }
        end = await run_process(
            [str(s.runner_python), "-m", "runner"],
            json.dumps(request).encode(),
            deadline_s=(request["timeout_ms"] + s.sandbox_grace_ms) / 1000,
            output_cap=output_cap(request),
            env=env,
            cwd=str(Path(s.runner_dir).resolve().parent),
        )
        return result_from(request, end)

    async def check(self) -> None:
        if not (Path(self.settings.runner_dir) / "__main__.py").is_file():
            raise ExecutorUnavailable(
                f"RUNNER_DIR={self.settings.runner_dir} is not the runner package"
            )

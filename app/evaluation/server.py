"""An agent server in this process for `corral eval` without --url: the real app on
127.0.0.1 (ephemeral port), settings from the environment, the planner as asked."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Self

import uvicorn

from app.main import create_app
from app.settings import load_settings


class LocalServer:
    def __init__(self, planner: str, datasets: Path, **overrides: Any) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="corral-eval-")
        values: dict[str, Any] = {"datasets_path": datasets,
                                  "database_url": f"sqlite:///{self.tmp.name}/eval.db"}
        if planner == "offline":
            values["llm_base_url"] = ""  # the offline planner even when an LLM is configured
        values.update(overrides)
        settings = load_settings(**values)
        if planner == "llm" and not settings.llm_base_url:
            raise ValueError("--planner llm: set LLM_BASE_URL and LLM_MODEL "
                             "(any OpenAI-compatible endpoint)")
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0,
                                log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the agent server did not start (see the log above)")
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.tmp.cleanup()

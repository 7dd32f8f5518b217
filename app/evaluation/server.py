"""An agent server in this process for `corral eval` without --url: the real app on
127.0.0.1 (ephemeral port), settings from the environment, the planner as asked."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from app.main import create_app
from app.serving import ServerThread
from app.settings import load_settings


class LocalServer(ServerThread):
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
        super().__init__(create_app(settings))

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.tmp.cleanup()

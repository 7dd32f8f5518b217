"""An agent server in this process for `corral eval` without --url: the real app on
127.0.0.1 (ephemeral port), settings from the environment, the planner as asked; signed
in like any client, with a query token it makes for itself in its own database."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from app.auth import tokens, users
from app.main import create_app
from app.serving import ServerThread
from app.settings import Settings, load_settings
from app.storage import make_engine, migrate, sqlalchemy_url

EVAL_USER = "corral-eval"


class LocalServer(ServerThread):
    def __init__(self, planner: str, datasets: Path, **overrides: Any) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="corral-eval-")
        values: dict[str, Any] = {"datasets_path": datasets,
                                  "database_url": f"sqlite:///{self.tmp.name}/eval.db",
                                  # one user asks every question, as fast as answers come
                                  "user_runs_per_minute": 10000}
        if planner == "offline":
            values["llm_base_url"] = ""  # the offline planner even when an LLM is configured
        values.update(overrides)
        settings = load_settings(**values)
        if planner == "llm" and not settings.llm_base_url:
            raise ValueError("--planner llm: set LLM_BASE_URL and LLM_MODEL "
                             "(any OpenAI-compatible endpoint)")
        self.token = _own_token(settings)
        super().__init__(create_app(settings))

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.tmp.cleanup()


def _own_token(settings: Settings) -> str:
    """A one-day query token of the analyst `corral-eval` in this server's fresh database."""
    engine = make_engine(sqlalchemy_url(settings.database_url))
    try:
        migrate(engine)
        user = users.find(engine, EVAL_USER) or users.create(engine, EVAL_USER)
        secret, _ = tokens.create(engine, user, "corral eval", "query", 1, max_days=1)
        return secret
    finally:
        engine.dispose()

"""The real agent server on 127.0.0.1 (an ephemeral port) in a background thread of
this process: `corral eval` without --url, the API tests and the benchmarks use it."""

from __future__ import annotations

import threading
import time
from typing import Self

import uvicorn
from fastapi import FastAPI

START_TIMEOUT_S = 120


class ServerThread:
    def __init__(self, app: FastAPI) -> None:
        self.app = app
        # proxy_headers off: X-Forwarded-* are the app's to judge (app/auth/proxy.py).
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                lifespan="on", proxy_headers=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the agent server did not start (see the log above)")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

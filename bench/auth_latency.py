"""Latency that identity adds to one authenticated request, printed as JSON.

One cheap route (GET /api/datasets) through a real agent server on 127.0.0.1, measured
in one run, interleaved request by request so machine load hits every series alike:
  public       GET /healthz on the same server (no identity at all)
  token        GET /api/datasets with `Authorization: Bearer crl_...`
  session      GET /api/datasets with the session cookie of a local sign-in
and, on a second server started with AUTH_MODE=none (loopback only, no sign-in), running
at the same time:
  baseline     GET /api/datasets with no credentials
`added_*` = p50/p95 of token or session minus those of the baseline.

  python -m bench.auth_latency [--runs 300]
"""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bench.server import agent_server
from bench.stats import summary

SERVER_ENV = {"EXECUTION_MODE": "bwrap", "WARM_POOL_SIZE": "0", "LOG_LEVEL": "WARNING"}
ROUTE = "/api/datasets"


def make_user(database_url: str, password: str) -> str:
    """User `bench` (analyst, local password) and a query token in the server's database."""
    from app.auth import tokens, users
    from app.storage import make_engine, migrate, sqlalchemy_url

    engine = make_engine(sqlalchemy_url(database_url))
    try:
        migrate(engine)
        user = users.create(engine, "bench", role="analyst", password=password)
        secret, _ = tokens.create(engine, user, "bench", "query", 1, max_days=1)
        return secret
    finally:
        engine.dispose()


def timed(call: Callable[[], httpx.Response]) -> float:
    start = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - start) * 1000
    response.raise_for_status()
    return elapsed


def measure(url: str, none_url: str, token: str, password: str,
            runs: int) -> dict[str, list[float]]:
    """Each round sends one request of every series, in turn, to both servers."""
    with httpx.Client(base_url=none_url, timeout=30) as anonymous, \
         httpx.Client(base_url=url, timeout=30) as public, \
         httpx.Client(base_url=url, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as bearer, \
         httpx.Client(base_url=url, timeout=30) as browser:
        signed = browser.post("/api/auth/login", json={"username": "bench", "password": password})
        signed.raise_for_status()
        calls = {"baseline_auth_mode_none": lambda: anonymous.get(ROUTE),
                 "public": lambda: public.get("/healthz"),
                 "token": lambda: bearer.get(ROUTE),
                 "session": lambda: browser.get(ROUTE)}
        samples: dict[str, list[float]] = {name: [] for name in calls}
        for i in range(runs + 20):  # the first 20 rounds warm up and are dropped
            for name, call in calls.items():
                elapsed = timed(call)
                if i >= 20:
                    samples[name].append(elapsed)
        return samples


def added(series: dict[str, float], base: dict[str, float]) -> dict[str, float]:
    return {"p50_ms": round(series["p50_ms"] - base["p50_ms"], 1),
            "p95_ms": round(series["p95_ms"] - base["p95_ms"], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    password = secrets.token_urlsafe(18)
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite:///{Path(tmp)}/auth-bench.db"
        token = make_user(database_url, password)
        with agent_server(DATABASE_URL=database_url, **SERVER_ENV) as (url, _), \
             agent_server(AUTH_MODE="none", **SERVER_ENV) as (none_url, _):
            samples = measure(url, none_url, token, password, args.runs)
    report: dict[str, object] = {"runs": args.runs, "route": ROUTE, "database": "sqlite"}
    for name, series in samples.items():
        report[name] = summary(series)
    base = report["baseline_auth_mode_none"]
    report["added_token"] = added(report["token"], base)  # type: ignore[arg-type]
    report["added_session"] = added(report["session"], base)  # type: ignore[arg-type]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

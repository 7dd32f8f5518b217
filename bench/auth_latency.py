"""What sign-in costs each request: the same cheap route (GET /api/suggestions: no
sandbox, no database of its own) asked N times with an API token, with a session
cookie, and on a server with AUTH_MODE=none (no identity to resolve), on one agent
server each (bwrap, no warm pool). Prints JSON: p50/p95 per way and the added p50/p95
of the token and the session over no sign-in.

    .venv/bin/python -m bench.auth_latency [--runs 300]
"""

from __future__ import annotations

import argparse
import json
import time

import httpx

from bench.server import agent_server, auth
from bench.stats import summary

PATH = "/api/suggestions"
PASSWORD = "bench password, long enough"


def timed(client: httpx.Client, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        answer = client.get(PATH)
        samples.append((time.perf_counter() - start) * 1000)
        answer.raise_for_status()
    return samples


def session_client(url: str) -> httpx.Client:
    """A client signed in with a session cookie, as the browser is."""
    with httpx.Client(base_url=url, headers=auth(url)) as admin:
        admin.post("/api/admin/users", json={"username": "browser", "password": PASSWORD})
    login = httpx.post(f"{url}/api/auth/login",
                       json={"username": "browser", "password": PASSWORD})
    login.raise_for_status()
    return httpx.Client(base_url=url, cookies=login.cookies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    env = {"EXECUTION_MODE": "bwrap", "WARM_POOL_SIZE": "0"}
    report: dict[str, object] = {"runs": args.runs, "path": PATH}
    with agent_server(**env) as (url, _):
        with httpx.Client(base_url=url, headers=auth(url)) as token:
            timed(token, 20)
            report["token"] = summary(timed(token, args.runs))
        with session_client(url) as session:
            timed(session, 20)
            report["session"] = summary(timed(session, args.runs))
    with agent_server(**env, AUTH_MODE="none") as (url, _), httpx.Client(base_url=url) as none:
        timed(none, 20)
        report["no_sign_in"] = summary(timed(none, args.runs))
    base = report["no_sign_in"]
    for way in ("token", "session"):
        for stat in ("p50_ms", "p95_ms"):
            report[f"added_{way}_{stat}"] = round(report[way][stat] - base[stat], 2)  # type: ignore[index]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

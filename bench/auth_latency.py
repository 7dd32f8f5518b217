"""What sign-in adds to each request, printed as JSON.

One cheap route (GET /api/suggestions: no sandbox, no database of its own) through real
agent servers on 127.0.0.1 (bwrap, no warm pool), measured in one run and interleaved
request by request, so the machine's load hits every series alike:
  token                  with `Authorization: Bearer crl_...`
  session                with the session cookie of a local sign-in
  public                 GET /healthz on the same server (no identity at all)
  no_sign_in             the same route on a second server with AUTH_MODE=none (loopback,
                         nothing to resolve), running at the same time: the baseline
`added_<way>_p50_ms`/`_p95_ms` = the token's or session's p50/p95 minus the baseline's.

    .venv/bin/python -m bench.auth_latency [--runs 300]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import httpx

from bench.server import agent_server, auth
from bench.stats import summary

PATH = "/api/suggestions"
PASSWORD = "bench password, long enough"
WARM_UP = 20
ENV = {"EXECUTION_MODE": "bwrap", "WARM_POOL_SIZE": "0"}


def session_client(url: str) -> httpx.Client:
    """A client signed in with a session cookie, as the browser is."""
    with httpx.Client(base_url=url, headers=auth(url)) as admin:
        made = admin.post("/api/admin/users", json={"username": "browser", "role": "analyst",
                                                    "password": PASSWORD})
        made.raise_for_status()
    login = httpx.post(f"{url}/api/auth/login", json={"username": "browser", "password": PASSWORD})
    login.raise_for_status()
    return httpx.Client(base_url=url, cookies=login.cookies)


def timed(call: Callable[[], httpx.Response]) -> float:
    start = time.perf_counter()
    answer = call()
    elapsed = (time.perf_counter() - start) * 1000
    answer.raise_for_status()
    return elapsed


def interleaved(calls: dict[str, Callable[[], httpx.Response]], runs: int) -> dict[str, list]:
    """Each round sends one request of every series in turn; warm-up rounds are dropped."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(runs + WARM_UP):
        for name, call in calls.items():
            elapsed = timed(call)
            if i >= WARM_UP:
                samples[name].append(elapsed)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    report: dict[str, object] = {"runs": args.runs, "path": PATH, "database": "sqlite"}
    with agent_server(**ENV) as (url, _), agent_server(**ENV, AUTH_MODE="none") as (none_url, _), \
         httpx.Client(base_url=url, headers=auth(url)) as token, session_client(url) as session, \
         httpx.Client(base_url=url) as public, httpx.Client(base_url=none_url) as none:
        samples = interleaved({"token": lambda: token.get(PATH),
                               "session": lambda: session.get(PATH),
                               "public": lambda: public.get("/healthz"),
                               "no_sign_in": lambda: none.get(PATH)}, args.runs)
    for name, series in samples.items():
        report[name] = summary(series)
    base = report["no_sign_in"]
    for way in ("token", "session"):
        for stat in ("p50_ms", "p95_ms"):
            report[f"added_{way}_{stat}"] = round(report[way][stat] - base[stat], 2)  # type: ignore[index]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

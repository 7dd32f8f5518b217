#!/usr/bin/env python3
"""End-to-end smoke test of a running Corral: ask the three canonical prompts through
the API and check each table.

    scripts/smoke.py --url http://localhost:8080            # through the UI's proxy
    scripts/smoke.py --url http://127.0.0.1:8000 --wait 120 # wait for /readyz first

Signed in with an API token: --token-file PATH, or the environment's CORRAL_TOKEN.

Exit status 0 when every check passed; 1 with the reason otherwise. Standard library
only, so it runs from any Python 3.11 (the venv, the agent-server image, a CI box).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any


class SmokeFailure(Exception):
    pass


# Authorization for every call (main sets it from --token-file or CORRAL_TOKEN).
AUTH: dict[str, str] = {}


def call(url: str, body: dict[str, Any] | None = None, timeout: float = 60) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json",
                                              "Accept": "application/json", **AUTH})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise SmokeFailure(f"{url} answered HTTP {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise SmokeFailure(f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from None
    try:
        return json.loads(text)
    except ValueError:
        raise SmokeFailure(f"{url} did not answer JSON (is this Corral?): {text[:120]!r}") \
            from None


def forget(base: str, answer: Any) -> None:
    """Delete the conversation the check started: checks leave no trace in users' history."""
    conversation_id = answer.get("conversation_id") if isinstance(answer, dict) else None
    if conversation_id:
        request = urllib.request.Request(f"{base}/api/conversations/{conversation_id}",
                                         method="DELETE", headers=AUTH)
        try:
            urllib.request.urlopen(request, timeout=30).close()
        except (urllib.error.URLError, OSError) as exc:
            print(f"warning: could not delete the smoke conversation: {exc}", file=sys.stderr)


def wait_ready(base: str, seconds: float) -> None:
    """Poll /readyz (or /api/readyz through the UI's proxy) until ready, at most `seconds`."""
    deadline = time.monotonic() + seconds
    last = "no answer yet"
    while True:
        for path in ("/readyz", "/api/readyz"):
            try:
                body = call(base + path, timeout=5)
            except SmokeFailure as exc:
                last = str(exc)
                continue
            if isinstance(body, dict) and body.get("status") == "ready":
                print(f"ready: executor {body.get('executor')}")
                return
            last = f"{path}: {body}"
        if time.monotonic() >= deadline:
            raise SmokeFailure(f"not ready after {seconds:g} s; last answer: {last}")
        time.sleep(1)


def column(rows: list[list[Any]], i: int) -> list[Any]:
    return [r[i] for r in rows]


def check_penguins(rows: list[list[Any]]) -> None:
    got = {r[0]: r[-1] for r in rows}
    want = {"Adelie": 3700.66, "Chinstrap": 3733.09, "Gentoo": 5076.02}
    if set(got) != set(want):
        raise SmokeFailure(f"expected one row per species {sorted(want)}, got {sorted(got)}")
    for species, grams in want.items():
        if abs(float(got[species]) - grams) > 1:
            raise SmokeFailure(f"{species}: expected about {grams} g, got {got[species]}")


def check_gapminder(rows: list[list[Any]]) -> None:
    continents = column(rows, 0)
    if sorted(continents) != ["Africa", "Americas", "Asia", "Europe", "Oceania"]:
        raise SmokeFailure(f"expected the 5 continents, got {continents}")
    best = max(rows, key=lambda r: float(r[-1]))
    if best[0] != "Oceania" or abs(float(best[-1]) - 80.72) > 0.1:
        raise SmokeFailure(f"expected Oceania highest (80.72 years), got {best}")


def check_flights(rows: list[list[Any]]) -> None:
    if len(rows) != 5:
        raise SmokeFailure(f"expected 5 destinations, got {len(rows)}")
    if rows[0][0] not in ("ORD", "ATL") or int(rows[0][-1]) != 17283:
        raise SmokeFailure(f"expected ORD first with 17283 flights, got {rows[0]}")
    counts = [int(x) for x in column(rows, -1)]
    if counts != sorted(counts, reverse=True):
        raise SmokeFailure(f"expected the counts in descending order, got {counts}")


CHECKS = {"penguins": check_penguins, "gapminder": check_gapminder, "flights": check_flights}


def ask(base: str, dataset: str, question: str) -> str:
    started = time.monotonic()
    answer = call(base + "/api/chat", {"question": question})
    elapsed = time.monotonic() - started
    forget(base, answer)
    result = answer.get("result") or {}
    if result.get("status") != "ok":
        error = (result.get("error") or {}).get("message") or answer.get("message")
        raise SmokeFailure(f"status {result.get('status')!r}: {error}")
    rows = result.get("rows") or []
    if not rows:
        raise SmokeFailure("the table is empty")
    check = CHECKS.get(dataset)
    if check:
        check(rows)
    return f"{len(rows)} rows in {elapsed * 1000:.0f} ms, first {rows[0]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:8080",
                        help="the UI (its /api/ proxy) or the agent server")
    parser.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                        help="first wait up to SECONDS for the server to be ready")
    parser.add_argument("--token-file", metavar="PATH",
                        help="a file holding an API token (default: CORRAL_TOKEN)")
    args = parser.parse_args()
    base = args.url.rstrip("/")
    token = os.environ.get("CORRAL_TOKEN", "")
    if args.token_file:
        try:
            with open(args.token_file) as fh:
                token = fh.read().strip()
        except OSError as exc:
            print(f"smoke: FAIL --token-file: {exc}", file=sys.stderr)
            return 2
    if token:
        AUTH["Authorization"] = f"Bearer {token}"
    try:
        if args.wait > 0:
            wait_ready(base, args.wait)
        suggestions = call(base + "/api/suggestions")
    except SmokeFailure as exc:
        print(f"smoke: FAIL {exc}", file=sys.stderr)
        return 1
    if not suggestions:
        print("smoke: FAIL /api/suggestions is empty", file=sys.stderr)
        return 1
    failures = 0
    for s in suggestions:
        try:
            summary = ask(base, s["dataset"], s["question"])
            print(f"smoke: ok   {s['dataset']:<10} {s['question']!r}: {summary}")
        except SmokeFailure as exc:
            failures += 1
            print(f"smoke: FAIL {s['dataset']:<10} {s['question']!r}: {exc}", file=sys.stderr)
    print(f"smoke: {len(suggestions) - failures}/{len(suggestions)} canonical prompts passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

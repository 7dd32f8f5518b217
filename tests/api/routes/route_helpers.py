"""Helpers for the route tests: raw JSON bodies and the fields a 422 names."""

from __future__ import annotations

import httpx

# The server's MAX_ROWS in the route tests (smaller than the default, to test the bound).
MAX_ROWS = 50


def send(client: httpx.Client, path: str, raw: str | bytes) -> httpx.Response:
    """POST `raw` as an application/json body, byte for byte."""
    body = raw.encode() if isinstance(raw, str) else raw
    return client.post(path, content=body, headers={"content-type": "application/json"})


def fields(response: httpx.Response) -> list[str]:
    """The field each 422 issue names (the last element of its loc)."""
    assert response.status_code == 422, response.text
    return [str(issue["loc"][-1]) for issue in response.json()["detail"]]

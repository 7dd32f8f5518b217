"""Checks the Molecule verifiers share: a real question through the UI port, from inside
the instance, must come back as a table (the same path a browser takes)."""

from __future__ import annotations

import json

PENGUINS_SQL = "SELECT species, count(*) AS n FROM penguins GROUP BY species ORDER BY species"

_POST = (
    "import json,sys,urllib.request;"
    "r=urllib.request.Request(sys.argv[1],data=sys.argv[2].encode(),"
    "headers={'Content-Type':'application/json'});"
    "print(urllib.request.urlopen(r,timeout=60).read().decode())"
)
_GET = "import sys,urllib.request;print(urllib.request.urlopen(sys.argv[1],timeout=30).read().decode())"


def post_json(host, url: str, body: dict) -> dict:
    """POST with the instance's own Python (a minimal Debian has no curl)."""
    return json.loads(host.check_output("python3 -c %s %s %s", _POST, url, json.dumps(body)))


def get_json(host, url: str):
    return json.loads(host.check_output("python3 -c %s %s", _GET, url))


def assert_penguins_table(run: dict) -> None:
    assert run["status"] == "ok", run
    assert [c["name"] for c in run["columns"]] == ["species", "n"]
    assert run["rows"] == [["Adelie", 152], ["Chinstrap", 68], ["Gentoo", 124]]

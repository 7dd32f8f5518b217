"""Checks the Molecule verifiers share: a real question through the UI port, from inside
the instance, must come back as a table (the same path a browser takes). Sign-in is on:
requests carry the automation token the corral_app role keeps on the instance, read there
from its file (never passed as an argument)."""

from __future__ import annotations

import json

PENGUINS_SQL = "SELECT species, count(*) AS n FROM penguins GROUP BY species ORDER BY species"

# The corral_app role's corral_automation_token_file (default corral_app_dir /opt/corral).
TOKEN_FILE = "/opt/corral/secrets/automation-token"

_AUTH = (
    "import json,os,sys,urllib.request;"
    "t=open(sys.argv[1]).read().strip() if os.path.exists(sys.argv[1]) else '';"
    "h={'Authorization':'Bearer '+t} if t else {};"
)
_POST = _AUTH + (
    "h['Content-Type']='application/json';"
    "r=urllib.request.Request(sys.argv[2],data=sys.argv[3].encode(),headers=h);"
    "print(urllib.request.urlopen(r,timeout=60).read().decode())"
)
_GET = _AUTH + (
    "r=urllib.request.Request(sys.argv[2],headers=h);"
    "print(urllib.request.urlopen(r,timeout=30).read().decode())"
)
_STATUS = _AUTH + (
    "import urllib.error;r=urllib.request.Request(sys.argv[2],headers=h if sys.argv[3]=='1' else {})\n"
    "try: print(urllib.request.urlopen(r,timeout=30).status)\n"
    "except urllib.error.HTTPError as e: print(e.code)"
)


def post_json(host, url: str, body: dict, token_file: str = TOKEN_FILE) -> dict:
    """POST with the instance's own Python (a minimal Debian has no curl), signed in."""
    return json.loads(host.check_output("python3 -c %s %s %s %s", _POST, token_file, url,
                                        json.dumps(body)))


def get_json(host, url: str, token_file: str = TOKEN_FILE):
    return json.loads(host.check_output("python3 -c %s %s %s", _GET, token_file, url))


def status_of(host, url: str, signed_in: bool, token_file: str = TOKEN_FILE) -> int:
    """HTTP status of a GET, with or without the automation token."""
    return int(host.check_output("python3 -c %s %s %s %s", _STATUS, token_file, url,
                                 "1" if signed_in else "0"))


def assert_penguins_table(run: dict) -> None:
    assert run["status"] == "ok", run
    assert [c["name"] for c in run["columns"]] == ["species", "n"]
    assert run["rows"] == [["Adelie", 152], ["Chinstrap", 68], ["Gentoo", 124]]


# The agent's CLI on the instance, as the corral_app role runs it (same database and settings).
CLI = {
    "compose": "docker compose -p corral exec -T agent-server python3 -m app.cli",
    "venv": ("runuser -u corral -- /bin/sh -c 'set -a; . /opt/corral/current/corral.env; set +a; "
             "cd /opt/corral/current/src && exec /opt/corral/current/venv/bin/python -m app.cli \"$@\"' corral"),
}


def browser_user(host, mode: str, username: str = "verifier") -> tuple[str, str]:
    """A local analyst for the browser checks (created once per instance); (name, password)."""
    password = "verifier-password-" + host.check_output("hostname")
    if username not in host.check_output(f"{CLI[mode]} users list").split():
        host.check_output(f"printf '%s\\n' {password} | {CLI[mode]} users add {username} "
                          "--role analyst --password-stdin")
    return username, password

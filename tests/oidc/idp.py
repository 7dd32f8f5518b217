"""The real OpenID Connect provider of the OIDC tests: scripts/idp.py (Debian's
glewlwyd) started once per test session in a temporary folder, and the two ways a test
signs in there: Chromium on its login page, or its login API for the tests that are
about Corral's callback rather than the sign-in page."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("corral_idp", ROOT / "scripts" / "idp.py")
assert _spec and _spec.loader
idp_script = importlib.util.module_from_spec(_spec)
sys.modules["corral_idp"] = idp_script  # dataclasses look their module up by name
_spec.loader.exec_module(idp_script)

Idp = idp_script.Idp
USERS = {u.username: u for u in idp_script.USERS}
ADMIN_GROUP = idp_script.ADMIN_GROUP
ANALYST_GROUP = idp_script.ANALYST_GROUP


def sign_in_at_idp_page(page, username: str) -> None:
    """On glewlwyd's login page: name and password, then grant Corral its scopes."""
    page.fill("#username", username)
    page.fill("#password", USERS[username].password)
    page.click("#loginbut")
    grant = page.get_by_role("button", name="Grant access")
    grant.wait_for()
    for box in page.locator("input[type=checkbox]").all():
        box.check()
    grant.click()
    page.get_by_role("button", name="Continue").click()


@contextmanager
def idp_login_api(idp: Idp, username: str) -> Iterator[httpx.Client]:
    """A client holding a glewlwyd session for `username` that has granted Corral its
    scopes, as a browser has after the login page."""
    with httpx.Client(base_url=idp.base_url, timeout=15, verify=idp.verify) as client:
        answer = client.post("/api/auth/", json={"username": username,
                                                 "password": USERS[username].password})
        answer.raise_for_status()
        grant = client.put("/api/auth/grant/corral", json={"scope": "openid profile email"})
        grant.raise_for_status()
        yield client


def callback_from_idp(app: httpx.Client, idp_client: httpx.Client) -> str:
    """Start a sign-in at Corral (`app` keeps the login cookie), pass the provider with
    `idp_client`'s session, and return the callback URL the provider redirects to."""
    to_idp = app.get("/api/auth/oidc/login")
    assert to_idp.status_code == 302, to_idp.text
    # The login page appends g_continue once the user is signed in and has granted.
    back = idp_client.get(to_idp.headers["location"] + "&g_continue")
    assert back.status_code == 302, back.text
    location = back.headers["location"]
    assert "code" in parse_qs(urlsplit(location).query), location
    return location

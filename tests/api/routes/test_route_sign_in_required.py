"""Every route of the API, walked from the app itself, answers 401 to a client without
credentials, except the few the README names public (Users and sign-in): a route added later without
`CurrentUser` fails here instead of serving anonymous clients."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx

PUBLIC = {
    ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/api/readyz"), ("GET", "/metrics"),
    ("GET", "/api/auth/config"), ("POST", "/api/auth/login"), ("POST", "/api/auth/setup"),
    ("GET", "/api/auth/oidc/login"), ("GET", "/api/auth/oidc/callback"),
}


def routes(candidates: list) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, descending into included routers."""
    for route in candidates:
        if hasattr(route, "effective_candidates"):  # an included router
            yield from routes(route.effective_candidates())
        elif getattr(route, "methods", None):
            for method in route.methods:
                if method != "HEAD":  # answered as its GET is
                    yield method, route.path


def test_every_route_but_the_public_ones_needs_sign_in(auth_server):
    found = set(routes(auth_server.app.routes))
    assert {("POST", "/api/chat"), ("PATCH", "/api/admin/users/{user_id}"),
            ("GET", "/openapi.json"), ("GET", "/docs")} <= found
    assert ("GET", "/redoc") not in found
    assert PUBLIC - found == set(), "a public route is gone: update PUBLIC"
    with httpx.Client(base_url=auth_server.url, timeout=60) as anonymous:
        for method, path in sorted(found - PUBLIC):
            url = re.sub(r"\{[^}]+\}", "0" * 32, path)  # any well-formed id
            answer = anonymous.request(method, url, json={})
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.json() == {"detail": "Sign in first"}
            assert answer.headers["WWW-Authenticate"] == "Bearer"

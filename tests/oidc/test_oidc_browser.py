"""The whole OpenID Connect sign-in in a real Chromium against a real provider
(glewlwyd): Corral's login sends the browser there, the user signs in on the
provider's own page and comes back signed in; they ask, see their history, sign out."""

from __future__ import annotations

import time

import httpx
import pytest
from idp import sign_in_at_idp_page

pytestmark = [pytest.mark.browser, pytest.mark.bwrap]


def test_sign_in_ask_and_sign_out_in_chromium(context, oidc_server, idp):
    page = context.new_page()
    began = time.monotonic()
    page.goto(f"{oidc_server.url}/api/auth/oidc/login")
    assert page.url.startswith(idp.base_url), "the login sends the browser to the provider"
    sign_in_at_idp_page(page, "alice")
    page.wait_for_url(f"{oidc_server.url}/")
    print(f"\nOIDC sign-in, login to back at Corral: {time.monotonic() - began:.2f} s")

    me = page.request.get(f"{oidc_server.url}/api/auth/me")
    assert me.status == 200, me.text()
    who = me.json()
    assert (who["username"], who["role"], who["source"]) == ("alice", "analyst", "oidc")
    assert who["display_name"] == "Alice Analyst"
    cookies = {c["name"]: c for c in context.cookies(oidc_server.url)}
    assert cookies["corral_session"]["httpOnly"] is True
    assert "corral_oidc" not in cookies, "the login cookie is gone once used"

    csrf = who["csrf_token"]
    asked = page.request.post(f"{oidc_server.url}/api/chat",
                              data={"question": "How many penguins are there?"},
                              headers={"X-CSRF-Token": csrf})
    assert asked.status == 200, asked.text()
    conversation = asked.json()["conversation_id"]
    history = page.request.get(f"{oidc_server.url}/api/conversations").json()
    assert conversation in [c["id"] for c in history]
    without_csrf = page.request.post(f"{oidc_server.url}/api/chat",
                                     data={"question": "How many penguins are there?"})
    assert without_csrf.status == 403

    out = page.request.post(f"{oidc_server.url}/api/auth/logout",
                            headers={"X-CSRF-Token": csrf})
    assert out.status == 200, out.text()
    redirect = out.json()["redirect"]
    assert redirect.startswith(f"{idp.issuer}/end_session"), redirect
    assert "id_token_hint=" in redirect and "post_logout_redirect_uri=" in redirect
    assert page.request.get(f"{oidc_server.url}/api/auth/me").status == 401
    # The browser would go on to `redirect`, the provider's own sign-out page (its
    # interactive confirmation is the provider's business, not exercised here).
    page.goto(f"{oidc_server.url}/")
    assert page.request.get(f"{oidc_server.url}/api/auth/me").status == 401

def test_an_admin_group_member_signs_in_as_admin(context, oidc_server):
    page = context.new_page()
    page.goto(f"{oidc_server.url}/api/auth/oidc/login")
    sign_in_at_idp_page(page, "bob")
    page.wait_for_url(f"{oidc_server.url}/")
    who = page.request.get(f"{oidc_server.url}/api/auth/me").json()
    assert (who["username"], who["role"]) == ("bob", "admin")
    # The admin part of the API answers a session from OIDC like any other admin's.
    assert page.request.get(f"{oidc_server.url}/api/admin/users").status == 200


def test_a_user_outside_allowed_groups_is_refused(context, oidc_server):
    page = context.new_page()
    page.goto(f"{oidc_server.url}/api/auth/oidc/login")
    sign_in_at_idp_page(page, "mallory")
    page.wait_for_url(f"{oidc_server.url}/?auth_error=oidc_forbidden")
    assert "corral_session" not in {c["name"] for c in context.cookies(oidc_server.url)}
    assert httpx.get(f"{oidc_server.url}/api/auth/me").status_code == 401

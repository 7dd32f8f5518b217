"""Signing in to the web UI in a real Chromium against the real agent server (local
accounts made with `corral users add`, bubblewrap sandboxes): sign in, ask, history,
sign out; one person never sees another's conversations; the admin page (audit log,
users, tokens) for admins only; "My tokens"; lockout and readable errors; a 401 that
keeps the typed question; the first-admin setup page."""

from __future__ import annotations

import httpx
import pytest
from conftest import AgentServer
from playwright.sync_api import expect
from ui_helpers import (
    answers,
    ask_and_wait,
    open_app,
    screenshot,
    sign_in,
    sign_in_context,
    sign_out,
    table_of,
    wait_for_answers,
)

pytestmark = [pytest.mark.browser, pytest.mark.bwrap]

PASSWORDS = {
    "alice": "alice-Corral-pass-1",
    "bob": "bob-Corral-pass-2",
    "root": "root-Corral-pass-3",
}
ISLANDS = "How many penguins are there on each island?"


@pytest.fixture(scope="module")
def server(agent_server: AgentServer) -> AgentServer:
    """The module's agent server with two analysts and one admin."""
    agent_server.add_user("alice", PASSWORDS["alice"])
    agent_server.add_user("bob", PASSWORDS["bob"])
    agent_server.add_user("root", PASSWORDS["root"], role="admin")
    return agent_server


def signed_in_page(context, server: AgentServer, username: str):
    sign_in_context(context, server.url, username, PASSWORDS[username])
    page = open_app(context, server.url)
    assert page.evaluate("document.body.dataset.view") == "chat"
    return page


def test_sign_in_ask_history_sign_out(context, server):
    page = open_app(context, server.url)
    expect(page.locator("h1.auth-title")).to_have_text("Sign in")
    assert page.locator("#app-view").is_hidden()
    screenshot(page, "ui-sign-in")

    # A wrong password: one readable sentence, no hint whether the user exists.
    page.locator("#signin-form input[name=username]").fill("alice")
    page.locator("#signin-form input[name=password]").fill("not her password")
    page.locator("#signin-form button[type=submit]").click()
    expect(page.locator("#signin-form .form-error")).to_contain_text(
        "Invalid or expired credentials")

    unsafe = []  # every state-changing request must carry the CSRF token
    page.on("request", lambda r: unsafe.append((r.method, r.url, r.headers.get("x-csrf-token")))
            if r.method in ("POST", "PATCH", "DELETE") and "/api/auth/login" not in r.url
            else None)
    sign_in(page, "alice", PASSWORDS["alice"])
    expect(page.locator("#account-name")).to_have_text("alice")
    expect(page.locator("#account-role")).to_have_text("analyst")
    assert page.locator("#nav-admin").count() == 0

    ask_and_wait(page, ISLANDS, 1)
    _, rows = table_of(answers(page).first)
    assert sorted(r[0] for r in rows) == ["Biscoe", "Dream", "Torgersen"]
    history = page.locator("#conversation-list .conversation-title")
    expect(history).to_have_count(1)
    assert history.first.inner_text() == ISLANDS
    screenshot(page, "ui-signed-in-answer")

    # History survives a reload, for the same person.
    page.reload()
    page.wait_for_selector("body[data-ready=true]", state="attached")
    expect(page.locator("#messages .bubble-user .bubble-text")).to_have_text([ISLANDS])

    csrf = context.cookies(server.url)
    token = next(c["value"] for c in csrf if c["name"] == "corral_csrf")
    sign_out(page)
    assert unsafe and all(header == token for _, _, header in unsafe), unsafe
    assert page.evaluate("localStorage.getItem('corral.conversationId')") is None
    assert not any(c["name"] == "corral_session" for c in context.cookies(server.url))
    # Signed out means signed out: the API refuses the browser now.
    assert context.request.get(f"{server.url}/api/conversations").status == 401
    assert page.errors == []


def test_a_second_user_does_not_see_the_first_users_conversation(context, server):
    page = open_app(context, server.url)
    sign_in(page, "alice", PASSWORDS["alice"])
    ask_and_wait(page, "avg body mass of gentoo penguins", 1)
    alice_conversation = page.evaluate("localStorage.getItem('corral.conversationId')")
    assert alice_conversation
    sign_out(page)

    sign_in(page, "bob", PASSWORDS["bob"])  # same browser, next person
    expect(page.locator("#account-name")).to_have_text("bob")
    expect(page.locator("#history-empty")).to_be_visible()
    assert page.locator("#conversation-list li").count() == 0
    assert page.locator("#messages li").count() == 0
    assert page.locator("#welcome").is_visible()
    screenshot(page, "ui-second-user-empty-history")
    # Nor through the API with bob's session: not listed, and 404 (not 403) by id.
    listed = context.request.get(f"{server.url}/api/conversations").json()
    assert alice_conversation not in [c["id"] for c in listed]
    assert context.request.get(
        f"{server.url}/api/conversations/{alice_conversation}").status == 404
    assert page.errors == []


def test_admin_page_shows_the_audit_row_with_the_askers_name(context, browser, server):
    # Markup in a question that becomes a run: SQL typed into the chat runs as written,
    # so the markup is in the question, the code and the result.
    hostile = ("SELECT '<img src=x onerror=\"window.__pwned = 1\">' AS markup, "
               "count(*) AS penguins FROM penguins")
    alice = browser.new_context()
    try:
        alice_page = signed_in_page(alice, server, "alice")
        ask_and_wait(alice_page, hostile, 1)
        assert answers(alice_page).first.locator(".badge").inner_text().lower() == "ok"
        assert alice_page.locator("#messages img").count() == 0
    finally:
        alice.close()

    page = signed_in_page(context, server, "root")
    expect(page.locator("#account-role")).to_have_text("admin")
    page.locator("#nav-admin").click()
    page.wait_for_selector("#admin-page")
    expect(page.locator("#conversation-title")).to_have_text("Admin")
    audit = page.locator(".audit-table tbody tr")
    row = audit.filter(has=page.locator(".audit-question", has_text=hostile)).first
    expect(row.locator(".audit-user")).to_have_text("alice")
    # The question is text, never markup, on the admin page too.
    assert page.locator(".audit-table img").count() == 0
    assert page.evaluate("window.__pwned") is None

    # Filter by user: only alice's runs, counted.
    page.locator(".audit-filters input[name=user]").fill("alice")
    page.locator(".audit-filters button[type=submit]").click()
    expect(page.locator(".pager [role=status]")).to_contain_text("of ")
    assert set(page.locator(".audit-table .audit-user").all_inner_texts()) == {"alice"}
    page.locator(".audit-filters input[name=user]").fill("nobody-asked")
    page.locator(".audit-filters button[type=submit]").click()
    expect(page.locator(".audit-panel").get_by_text("No runs match.")).to_be_visible()
    page.locator(".audit-filters button[type=reset]").click()
    expect(row).to_be_visible()
    screenshot(page, "ui-admin-audit")
    assert page.errors == []


def test_admin_manages_users_and_tokens(context, server):
    page = signed_in_page(context, server, "root")
    page.goto(f"{server.url}/#admin")
    page.wait_for_selector("#admin-page .users-table tbody tr")
    users = page.locator(".users-table tbody tr")
    expect(users.filter(has_text="alice")).to_have_count(1)

    # Add a local user, who can then sign in through the API.
    form = page.locator(".user-form")
    form.locator("input[name=username]").fill("carol")
    form.locator("input[name=password]").fill("carol-Corral-pass-4")
    form.locator("button[type=submit]").click()
    carol = page.locator('.users-table tr[data-username="carol"]')
    expect(carol).to_be_visible()
    login = {"username": "carol", "password": "carol-Corral-pass-4"}
    assert httpx.post(f"{server.url}/api/auth/login", json=login).status_code == 200

    # Make her admin, then disable her: she can no longer sign in.
    carol.locator("select.role-select").select_option("admin")
    expect(page.locator(".users-panel [role=status]")).to_have_text("Updated carol.")
    carol.get_by_role("button", name="Disable").click()
    expect(carol.locator(".badge")).to_have_text("disabled")
    assert carol.locator("select.role-select").input_value() == "admin"
    assert httpx.post(f"{server.url}/api/auth/login", json=login).status_code == 401
    carol.get_by_role("button", name="Enable").click()
    expect(carol.locator(".badge")).to_have_text("active")

    # A token for alice, made by the admin: shown once, works, then revoked.
    tokens = page.locator(".tokens-panel")
    tokens.locator("input[name=name]").fill("alice nightly")
    tokens.locator("input[name=username]").fill("alice")
    tokens.locator("button[type=submit]").click()
    secret = tokens.locator(".token-secret").inner_text()
    assert secret.startswith("crl_")
    screenshot(page, "ui-admin-token-created")
    bearer = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{server.url}/api/conversations", headers=bearer).status_code == 200
    row = tokens.locator("tbody tr", has_text="alice nightly")
    expect(row.locator("td").nth(1)).to_have_text("alice")
    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="Revoke").click()
    expect(row.locator(".badge")).to_have_text("revoked")
    assert httpx.get(f"{server.url}/api/conversations", headers=bearer).status_code == 401
    assert page.errors == []


def test_non_admin_gets_no_admin_page_and_the_api_refuses(context, server):
    page = signed_in_page(context, server, "bob")
    assert page.locator("#nav-admin").count() == 0
    page.goto(f"{server.url}/#admin")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    expect(page.locator("#admin-denied")).to_have_text("The admin page needs the admin role.")
    assert page.locator(".audit-table, .users-table").count() == 0
    for path in ("/api/admin/audit", "/api/admin/users", "/api/tokens?all=true"):
        answer = context.request.get(server.url + path)
        assert answer.status == 403, (path, answer.status)
        assert "admin" in answer.json()["detail"]
    assert page.errors == []


def test_my_tokens_for_an_analyst(context, server):
    page = signed_in_page(context, server, "bob")
    page.locator("#nav-tokens").click()
    panel = page.locator("#tokens-page .tokens-panel")
    panel.wait_for()
    # An analyst may only make query tokens.
    scopes = panel.locator("select[name=scope] option").all_inner_texts()
    assert len(scopes) == 1 and scopes[0].startswith("query")
    assert panel.locator("input[name=username]").count() == 0
    panel.locator("input[name=name]").fill("bob's script")
    panel.locator("button[type=submit]").click()
    secret = panel.locator(".token-secret").inner_text()
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    panel.get_by_role("button", name="Copy").click()
    expect(panel.locator(".token-once [role=status]")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    screenshot(page, "ui-my-tokens")
    # Shown once: after a reload the list has only the prefix.
    page.reload()
    panel.locator("tbody tr").first.wait_for()
    assert page.locator(".token-secret").count() == 0
    assert secret not in page.locator("#tokens-page").inner_text()
    assert secret[4:12] in panel.locator("tbody tr", has_text="bob's script").inner_text()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{server.url}/api/conversations", headers=bearer).status_code == 200
    assert page.errors == []


def test_an_ended_session_keeps_the_typed_question(context, server):
    page = signed_in_page(context, server, "alice")
    # The session ends elsewhere (another tab signs out); this page does not know yet.
    csrf = next(c["value"] for c in context.cookies(server.url) if c["name"] == "corral_csrf")
    ended = context.request.post(f"{server.url}/api/auth/logout",
                                 headers={"X-CSRF-Token": csrf})
    assert ended.status == 200
    page.locator("#ask-input").fill(ISLANDS)
    page.locator("#ask-input").press("Enter")
    expect(page.locator(".auth-notice")).to_contain_text("Your session has ended")
    screenshot(page, "ui-session-ended")
    sign_in(page, "alice", PASSWORDS["alice"])
    expect(page.locator("#ask-input")).to_have_value(ISLANDS)
    assert page.errors == []


def test_lockout_is_explained_with_the_wait(context, server):
    server.add_user("dave", "dave-Corral-pass-5")
    page = open_app(context, server.url)
    page.locator("#signin-form input[name=username]").fill("dave")
    error = page.locator("#signin-form .form-error")
    for attempt in range(1, 12):
        page.locator("#signin-form input[name=password]").fill(f"wrong {attempt}")
        with page.expect_response("**/api/auth/login"):
            page.locator("#signin-form button[type=submit]").click()
        expect(error).to_be_visible()
        if "Try again in" in error.inner_text():
            break
    assert "Try again in" in error.inner_text()
    expect(page.locator("#signin-form button[type=submit]")).to_be_disabled()
    screenshot(page, "ui-sign-in-locked")
    assert page.errors == []


def test_oidc_failure_is_shown_readably(context, server):
    page = context.new_page()
    page.goto(f"{server.url}/?auth_error=oidc_denied")
    page.wait_for_selector("body[data-view=signin][data-ready=true]", state="attached")
    expect(page.get_by_role("alert")).to_have_text("The identity provider refused the sign-in.")
    assert "auth_error" not in page.url


def test_first_admin_setup_page(context, tmp_path):
    with AgentServer(tmp_path, admin_token=False) as server:
        assert httpx.get(f"{server.url}/api/auth/config").json()["setup_required"] is True
        code = server.corral("setup-code").strip()
        page = open_app(context, server.url)
        assert page.evaluate("document.body.dataset.view") == "setup"
        form = page.locator("#setup-form")
        form.locator("input[name=code]").fill(code)
        form.locator("input[name=username]").fill("first-admin")
        form.locator("input[name=password]").fill("first-Admin-pass-6")
        form.locator("input[name=password2]").fill("something else")
        form.locator("button[type=submit]").click()
        expect(form.locator(".form-error")).to_contain_text("The two passwords differ")
        screenshot(page, "ui-setup")
        form.locator("input[name=password2]").fill("first-Admin-pass-6")
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        page.wait_for_selector("body[data-view=chat][data-ready=true]", state="attached")
        expect(page.locator("#account-name")).to_have_text("first-admin")
        expect(page.locator("#account-role")).to_have_text("admin")
        # Single use: the page is gone for good.
        assert httpx.get(f"{server.url}/api/auth/config").json()["setup_required"] is False
        assert page.errors == []


def test_sign_out_follows_the_servers_redirect(context, server):
    """With OIDC the logout answer names the identity provider's end-session URL. The
    real logout runs; only its `redirect` is rewritten (this server is local-only) to a
    page of the test's, and a javascript: URL would be refused."""
    page = signed_in_page(context, server, "bob")
    end_session = f"{server.url}/idp/end-session?post_logout=1"
    page.route("**/idp/end-session*", lambda route: route.fulfill(
        content_type="text/html", body="<!doctype html><title>idp</title><p>signed out at idp"))

    def with_redirect(route):
        real = route.fetch()
        assert real.status == 200 and real.json() == {"redirect": None}
        route.fulfill(response=real, json={"redirect": end_session})

    page.route("**/api/auth/logout", with_redirect)
    with page.expect_navigation(url=end_session):
        page.locator("#sign-out").click()
    assert page.locator("p").inner_text() == "signed out at idp"
    assert context.request.get(f"{server.url}/api/auth/me").status == 401

    # Only http(s) is followed: a script URL from a confused server lands on sign-in.
    page = signed_in_page(context, server, "bob")
    page.route("**/api/auth/logout", lambda route: route.fulfill(
        response=route.fetch(), json={"redirect": "javascript:window.__pwned = 1"}))
    sign_out(page)
    assert page.evaluate("window.__pwned") is None


def test_own_limits_and_refusals_are_shown_in_the_servers_words(context, server):
    """A per-user 429 (USER_RUNS_PER_MINUTE; a server with its own limits is in the API
    suite) answers the first question of this page through request interception; the
    retry reaches the real server. A real 403 (CSRF token missing) is shown as text."""
    page = signed_in_page(context, server, "bob")
    calls = []

    def limited_once(route):
        calls.append(route.request.method)
        if len(calls) == 1:
            route.fulfill(status=429, headers={"Retry-After": "2"}, json={"detail": (
                "You started 30 runs in the last minute (USER_RUNS_PER_MINUTE=30); "
                "retry in 2 s.")})
        else:
            route.continue_()

    page.route("**/api/chat", limited_once)
    page.locator("#ask-input").fill(ISLANDS)
    page.locator("#ask-input").press("Enter")
    notice = page.locator("#messages .pending-line")
    expect(notice).to_contain_text(
        "You started 30 runs in the last minute (USER_RUNS_PER_MINUTE=30) — retrying in")
    wait_for_answers(page, 1)
    assert len(calls) == 2
    page.unroute("**/api/chat")

    # A wrong CSRF cookie (another tab's stale one, a tampered one): the server's 403
    # sentence is what the person reads.
    context.add_cookies([{"name": "corral_csrf", "value": "not-this-session", "url": server.url}])
    page.locator("#ask-input").fill("avg body mass of gentoo penguins")
    page.locator("#ask-input").press("Enter")
    failure = page.locator("#messages .status-failed .error-box")
    expect(failure).to_contain_text("CSRF token missing or wrong; reload the page")
    assert page.errors == []

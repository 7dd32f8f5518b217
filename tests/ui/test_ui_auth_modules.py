"""The UI's sign-in modules in a real Chromium, served as plain static files: the CSRF
header on every state-changing request, a 401 sending the page to sign-in (but not
the sign-in form's own 401), and the sign-in page built from /api/auth/config. The
API answers here come from the browser's request interception; the same behaviour
against the real agent server is in test_ui_auth.py."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser


def run(page, body: str):
    """Evaluate an async function body with lib/api.js as `api` and lib/signin.js as
    `signin` imported."""
    return page.evaluate(
        """async (body) => {
            const api = await import('/lib/api.js');
            const signin = await import('/lib/signin.js');
            const AsyncFunction = (async () => {}).constructor;
            return await (new AsyncFunction('api', 'signin', body))(api, signin);
        }""",
        body,
    )


def capture_api(page, status: int = 200, body: object = None) -> list[dict]:
    """Answer every /api/ request with `status`; return the requests seen."""
    seen: list[dict] = []

    def answer(route):
        request = route.request
        seen.append({"method": request.method, "path": request.url.split("/", 3)[3],
                     "csrf": request.headers.get("x-csrf-token")})
        route.fulfill(status=status, content_type="application/json",
                      body=json.dumps(body if body is not None else {"detail": "Sign in first"}))

    page.route("**/api/**", answer)
    return seen


def test_state_changing_requests_carry_the_csrf_token(modules_page):
    seen = capture_api(modules_page, 200, {})
    run(modules_page, """
        document.cookie = 'corral_csrf=cookie-token; path=/';
        await api.api.conversations();
        await api.api.chat({question: 'q'});
        await api.api.deleteConversation('abc');
        await api.api.updateUser('u1', {role: 'admin'});
        await api.api.revokeToken('t1');
        // Without the cookie the token from /api/auth/me is sent.
        document.cookie = 'corral_csrf=; path=/; max-age=0';
        api.api.session.csrfToken = 'me-token';
        await api.api.logout();
    """)
    assert [(s["method"], s["path"], s["csrf"]) for s in seen] == [
        ("GET", "api/conversations", None),
        ("POST", "api/chat", "cookie-token"),
        ("DELETE", "api/conversations/abc", "cookie-token"),
        ("PATCH", "api/admin/users/u1", "cookie-token"),
        ("DELETE", "api/tokens/t1", "cookie-token"),
        ("POST", "api/auth/logout", "me-token"),
    ]


def test_a_401_asks_for_sign_in_but_the_sign_in_form_keeps_its_own(modules_page):
    capture_api(modules_page, 401, {"detail": "Invalid or expired credentials"})
    result = run(modules_page, """
        const calls = [];
        api.api.session.onUnauthorized = (err) => calls.push(err.status);
        const messages = [];
        for (const call of [() => api.api.login('a', 'b'), () => api.api.me(),
                            () => api.api.conversations(), () => api.api.chat({question: 'q'})]) {
            try { await call(); } catch (err) { messages.push([err.status, err.message]); }
        }
        return {calls, messages};
    """)
    # login and me answer 401 as part of signing in; the others mean "sign in again".
    assert result["calls"] == [401, 401]
    assert result["messages"] == [[401, "Invalid or expired credentials"]] * 4


def test_sign_in_page_offers_what_the_server_config_says(modules_page):
    shown = run(modules_page, """
        const render = (modes) => {
            const el = signin.renderSignIn(
                {modes, oidc_login_url: '/api/auth/oidc/login', setup_required: false},
                {onSignedIn: () => {}});
            document.body.replaceChildren(el);
            return {
                oidc: el.querySelector('#oidc-login')?.getAttribute('href') ?? null,
                form: !!el.querySelector('#signin-form'),
                password: el.querySelector('#signin-form input[type=password]')?.autocomplete ?? null,
            };
        };
        return [render(['oidc', 'local']), render(['oidc']), render(['local'])];
    """)
    assert shown == [
        {"oidc": "/api/auth/oidc/login", "form": True, "password": "current-password"},
        {"oidc": "/api/auth/oidc/login", "form": False, "password": None},
        {"oidc": None, "form": True, "password": "current-password"},
    ]


def test_auth_error_codes_are_explained_and_shown_only_as_text(modules_page):
    result = run(modules_page, """
        const show = (code) => {
            const el = signin.renderSignIn({modes: ['oidc'], oidc_login_url: '/x'},
                                           {authError: code, onSignedIn: () => {}});
            document.body.replaceChildren(el);
            return el.querySelector('.form-error').textContent;
        };
        const known = show('oidc_state');
        const hostile = show('<img src=x onerror="window.__pwned=1">');
        const inherited = show('constructor');
        return {known, hostile, inherited, imgs: document.querySelectorAll('img:not([src="favicon.svg"])').length,
                pwned: window.__pwned ?? null};
    """)
    assert result["known"] == "The sign-in took too long or was started in another tab. Try again."
    assert '<img src=x onerror="window.__pwned=1">' in result["hostile"]
    assert result["inherited"] == (
        "Signing in with the identity provider failed (constructor). Try again.")
    assert result["imgs"] == 0 and result["pwned"] is None

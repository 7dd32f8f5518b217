"""A real Chromium (Debian's, driven by Playwright on the host) opens the deployed UI,
clicks the penguins suggestion and reads the table, as a person would. Sign-in is
required: the browser signs in first (POST /api/auth/login in its own context, so the
session cookie is the browser's), with a local account the verifier created."""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "ui"))
from ui_helpers import answers, open_app, table_of, wait_for_answers

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def penguins_table_in_browser(url: str, user: tuple[str, str]) -> tuple[list[str], list[list[str]]]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            signed_in = context.request.post(f"{url}/api/auth/login",
                                             data={"username": user[0], "password": user[1]})
            assert signed_in.ok, f"sign-in: HTTP {signed_in.status} {signed_in.text()[:200]}"
            page = open_app(context, url)
            page.locator("#suggestions button.suggestion", has_text="penguin").click()
            wait_for_answers(page, 1)
            headers, rows = table_of(answers(page).first)
            assert not page.errors, page.errors
            return headers, rows
        finally:
            browser.close()

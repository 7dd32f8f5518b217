"""What the tests read off the page: the same things a person sees."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Where screenshots go: build/screenshots/, or the folder SCREENSHOTS_DIR names (`make
# screenshots` writes the ones docs/screenshots/ keeps).
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or ROOT / "build" / "screenshots")


def screenshot(page, name: str) -> Path:
    """Save <SCREENSHOTS>/<name>.png, for people to look at the design."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def open_app(context, url: str):
    """Open the UI and wait until it has loaded the catalog and history.
    Script errors on the page fail the test (page.errors is checked by callers)."""
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", state="attached")
    return page


def answers(page):
    return page.locator("#messages article.bubble-answer")


def wait_for_answers(page, count: int) -> None:
    """Wait until `count` answers are on screen (the pending bubble is not one)."""
    page.wait_for_function(
        "n => document.querySelectorAll('#messages article.bubble-answer').length >= n",
        arg=count,
        timeout=60_000,
    )


def table_of(answer) -> tuple[list[str], list[list[str]]]:
    """(column names, rows of cell texts) of the result table in one answer."""
    answer.locator("table.data-table").wait_for()
    headers = answer.locator("table.data-table thead th .col-name").all_inner_texts()
    rows = [
        row.locator("td").all_inner_texts()
        for row in answer.locator("table.data-table tbody tr").all()
    ]
    return headers, rows


def number(text: str) -> float:
    """A displayed number back to a float ("5,076.02" -> 5076.02)."""
    return float(text.replace(",", ""))


def read_csv(path: Path) -> list[list[str]]:
    text = path.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff"), "the CSV should start with a UTF-8 byte-order mark"
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def tab_to(page, element_id: str, limit: int = 60) -> int:
    """Press Tab from the top of the page until `element_id` has focus; return the count."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return presses
    raise AssertionError(f"#{element_id} never got focus with {limit} Tab presses")


def sign_in(page, username: str, password: str) -> None:
    """Sign in through the sign-in form (already on screen), as a person does, and wait
    for the chat page the browser reloads into."""
    page.wait_for_selector("body[data-view=signin][data-ready=true]", state="attached")
    page.locator("#signin-form input[name=username]").fill(username)
    page.locator("#signin-form input[name=password]").fill(password)
    with page.expect_navigation():
        page.locator("#signin-form button[type=submit]").click()
    page.wait_for_selector("body[data-ready=true]:not([data-view=signin])", state="attached")


def sign_in_context(context, url: str, username: str, password: str) -> None:
    """Give a browser context a session without the form (POST /api/auth/login from
    the context, so the cookies are the browser's)."""
    answer = context.request.post(f"{url}/api/auth/login",
                                  data={"username": username, "password": password})
    assert answer.status == 200, answer.text()


def sign_out(page) -> None:
    """Press Sign out and wait for the sign-in page."""
    with page.expect_navigation():
        page.locator("#sign-out").click()
    page.wait_for_selector("body[data-view=signin][data-ready=true]", state="attached")


def ask_and_wait(page, question: str, count: int) -> None:
    """Type a question, press Enter, wait for the `count`th answer."""
    page.locator("#ask-input").fill(question)
    page.locator("#ask-input").press("Enter")
    wait_for_answers(page, count)

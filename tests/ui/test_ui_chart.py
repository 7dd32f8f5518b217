"""Charts beside the answer table, in a real Chromium against the real agent server,
under the UI container's Content-Security-Policy (read from its nginx config and put
on every response): the chart type follows the table's shape, the chart draws exactly
the table's data, it can be reached with the keyboard and downloaded as PNG, and the
table is always there."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from ui_helpers import (
    answers,
    number,
    open_app,
    screenshot,
    table_of,
    wait_for_answers,
)

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "app" / "ui" / "lib" / "vendor"
HEADERS = ROOT / "app" / "ui" / "container" / "security-headers.conf"


def container_csp() -> str:
    m = re.search(r'Content-Security-Policy "([^"]+)"', HEADERS.read_text())
    assert m, "no CSP in the UI container's security headers"
    return m.group(1)


def open_with_csp(context, url: str):
    """The app with the container's CSP on every response; CSP reports are collected."""
    csp = container_csp()

    def add_csp(route):
        response = route.fetch()
        route.fulfill(response=response,
                      headers={**response.headers, "content-security-policy": csp})

    context.route("**/*", add_csp)
    violations: list[str] = []
    context.on("console", lambda m: violations.append(m.text)
               if "Content Security Policy" in m.text else None)
    page = open_app(context, url)
    page.csp_violations = violations
    return page


@pytest.fixture()
def csp_page(context, agent_server, signed_in):
    page = open_with_csp(context, agent_server.url)
    yield page
    # a request still in the route handler when the context closes is not a failure
    context.unroute_all(behavior="ignoreErrors")


def ask(page, question: str, count: int):
    page.locator("#ask-input").fill(question)
    page.locator("#ask-input").press("Enter")
    wait_for_answers(page, count)
    return answers(page).nth(count - 1)


def drawn(answer) -> dict:
    """The labels and values the chart draws (Chart.js's own data)."""
    figure = answer.locator("figure.answer-chart")
    figure.locator("canvas").wait_for()
    answer.page.wait_for_function("f => f.chart !== undefined", arg=figure.element_handle())
    return figure.evaluate("f => ({labels: f.chart.data.labels,"
                           " values: f.chart.data.datasets[0].data, type: f.chart.config.type})")


def test_the_vendored_chart_library_is_the_pinned_release():
    """chart.js 4.6.1 from npm (dist/chart.umd.min.js), checked against the recorded hash."""
    notes = (VENDOR / "README.md").read_text()
    recorded = re.search(r"sha256 ([0-9a-f]{64})", notes).group(1)
    assert hashlib.sha256((VENDOR / "chart.umd.min.js").read_bytes()).hexdigest() == recorded
    assert "chart.js@4.6.1" in notes and (VENDOR / "chart.js-LICENSE.md").is_file()


@pytest.mark.browser
@pytest.mark.bwrap
def test_a_category_and_a_number_is_a_bar_chart_of_the_table(csp_page):
    page = csp_page
    answer = ask(page, "What is the average body mass of penguins by species?", 1)
    headers, rows = table_of(answer)
    chart = drawn(answer)
    assert chart["type"] == "bar"
    assert chart["labels"] == [r[0] for r in rows]
    mass = next(i for i, name in enumerate(headers) if "body_mass" in name)
    assert chart["values"] == pytest.approx([number(r[mass]) for r in rows], abs=0.01)

    canvas = answer.locator("figure.answer-chart canvas")
    assert canvas.get_attribute("role") == "img"
    assert canvas.get_attribute("aria-label") == "Bar chart of avg_body_mass_g by species, 3 bars"
    canvas.focus()
    page.keyboard.press("Tab")  # the download button is next in the tab order
    assert page.evaluate("document.activeElement.textContent") == "Download chart (PNG)"
    with page.expect_download() as download_info:
        page.keyboard.press("Enter")
    download = download_info.value
    assert download.suggested_filename == "avg_body_mass_g.png"
    assert Path(download.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    screenshot(page, "ui-chart-bar")
    assert page.csp_violations == [] and page.errors == []


@pytest.mark.browser
@pytest.mark.bwrap
def test_time_is_a_line_one_number_a_card_rows_no_chart(csp_page):
    page = csp_page
    answer = ask(page, "number of flights per month", 1)
    _, rows = table_of(answer)
    chart = drawn(answer)
    assert chart["type"] == "line" and len(rows) == 12
    assert chart["labels"] == [r[0] for r in rows]
    assert chart["values"] == [number(r[1]) for r in rows]

    answer = ask(page, "How many penguins are there?", 2)
    card = answer.locator("figure.answer-chart[data-chart=number]")
    assert card.locator(".big-number-value").inner_text() == "344"
    assert table_of(answer)[1] == [["344"]]  # the table is still there

    answer = ask(page, "show penguins on dream island", 3)
    assert answer.locator("table.data-table").count() == 1
    assert answer.locator("figure.answer-chart").count() == 0  # whole rows: no chart
    assert page.csp_violations == [] and page.errors == []


@pytest.mark.browser
@pytest.mark.bwrap
def test_the_chart_rule_follows_column_types_and_row_count(csp_page):
    page = csp_page
    chosen = page.evaluate("""async () => {
        const { chooseChart } = await import('/lib/chart.js');
        const col = (name, type) => ({ name, type });
        const ok = (columns, rows) => ({ status: 'ok', columns, rows });
        const n = (k) => Array.from({ length: k }, (_, i) => ['c' + i, i]);
        const pick = (c) => c && c.type;
        return [
          pick(chooseChart(ok([col('n', 'BIGINT')], [[344]]))),
          pick(chooseChart(ok([col('species', 'VARCHAR'), col('avg', 'DOUBLE')], n(3)))),
          pick(chooseChart(ok([col('species', 'VARCHAR'), col('avg', 'DOUBLE')], n(51)))),
          pick(chooseChart(ok([col('year', 'INTEGER'), col('avg', 'DOUBLE')], n(12)))),
          pick(chooseChart(ok([col('time_hour', 'TIMESTAMP'), col('n', 'BIGINT')], n(5)))),
          pick(chooseChart(ok([col('a', 'DOUBLE'), col('b', 'DOUBLE')], n(40)))),
          pick(chooseChart(ok([col('x', 'VARCHAR'), col('y', 'VARCHAR'), col('n', 'BIGINT')],
                              n(4)))),
          pick(chooseChart(ok([col('species', 'VARCHAR'), col('n', 'BIGINT')], n(1)))),
          pick(chooseChart({ status: 'error', columns: [], rows: [] })),
        ];
    }""")
    assert chosen == ["number", "bar", None, "line", "line", "scatter", None, None, None]

"""The UI's modules in a real Chromium, served as plain static files (no agent server):
CSV escaping and file names, numeric vs text sorting, the display cap, and the error
box for every run status the offline planner cannot provoke (timeout, oom, ...)."""

from __future__ import annotations

import pytest
from ui_helpers import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture()
def page(modules_page):
    return modules_page


def run(page, body: str):
    """Evaluate an async function body with the modules imported as csv, values,
    table and answer."""
    return page.evaluate(
        """async (body) => {
            const csv = await import('/lib/csv.js');
            const values = await import('/lib/values.js');
            const table = await import('/lib/table.js');
            const answer = await import('/lib/answer.js');
            const readiness = await import('/lib/readiness.js');
            return await (new Function('csv', 'values', 'table', 'answer', 'readiness', body))(
                csv, values, table, answer, readiness);
        }""",
        body,
    )


def test_csv_fields_are_escaped(page):
    fields = run(page, """
        return ['plain', 'a,b', 'say "hi"', 'two\\nlines', 'cr\\rhere', null, 12.5, -3,
                '=SUM(A1)', '+1 thing', '@cmd', '-5', '-x', true].map(csv.csvField);
    """)
    assert fields == [
        "plain", '"a,b"', '"say ""hi"""', '"two\nlines"', '"cr\rhere"', "", "12.5", "-3",
        "'=SUM(A1)", "'+1 thing", "'@cmd", "-5", "'-x", "true",
    ]


def test_csv_document_and_file_name(page):
    text, names = run(page, """
        const doc = csv.toCsv([{name: 'species'}, {name: 'mass, g'}],
                              [['Gentoo', 5076.02], ['Adelie', null]]);
        return [doc, [csv.csvFilename('penguins', 'What is the average body mass?'),
                      csv.csvFilename('', '  '),
                      csv.csvFilename('flights', 'Ünïcode / slashes\\\\ & <tags>')]];
    """)
    assert text == 'species,"mass, g"\r\nGentoo,5076.02\r\nAdelie,\r\n'
    assert names == [
        "penguins-what-is-the-average-body-mass.csv",
        "result.csv",
        "flights-unicode-slashes-tags.csv",
    ]


def test_numeric_and_text_sorting_keep_nulls_last(page):
    result = run(page, """
        const rows = [[10, 'b10'], [9, 'b9'], [null, null], [100, 'B100'], [-1, 'a']];
        const cols = [{name: 'n', type: 'BIGINT'}, {name: 's', type: 'VARCHAR'}];
        const num = values.isNumericColumn(cols[0], rows, 0);
        const txt = values.isNumericColumn(cols[1], rows, 1);
        const up = [...rows].sort(values.comparator(0, num, 'ascending')).map(r => r[0]);
        const down = [...rows].sort(values.comparator(0, num, 'descending')).map(r => r[0]);
        const words = [...rows].sort(values.comparator(1, txt, 'ascending')).map(r => r[1]);
        return {num, txt, up, down, words};
    """)
    assert result["num"] is True and result["txt"] is False
    assert result["up"] == [-1, 9, 10, 100, None]
    assert result["down"] == [100, 10, 9, -1, None]
    assert result["words"] == ["a", "b9", "b10", "B100", None]


def test_display_cap_and_show_all(page):
    counts = run(page, """
        const rows = Array.from({length: 250}, (_, i) => [i, `row ${i}`]);
        const el = table.renderTable(
            {columns: [{name: 'i', type: 'INTEGER'}, {name: 'label', type: 'VARCHAR'}], rows});
        document.body.replaceChildren(el);
        const before = el.querySelectorAll('tbody tr').length;
        const more = el.querySelector('.table-more').textContent;
        el.querySelector('.table-more button').click();
        const after = el.querySelectorAll('tbody tr').length;
        return {before, more, after, hidden: el.querySelector('.table-more').hidden};
    """)
    assert counts["before"] == table_display_limit(page)
    assert "Show all 250 rows" in counts["more"]
    assert counts["after"] == 250 and counts["hidden"] is True


def table_display_limit(page) -> int:
    return run(page, "return table.DISPLAY_LIMIT;")


@pytest.mark.parametrize(
    "status, title",
    [
        ("timeout", "Time limit reached"),
        ("oom", "Out of memory"),
        ("output_limit", "Result too large"),
        ("rejected", "Refused by the safety check"),
        ("error", "The generated code failed"),
        ("crashed", "The sandbox stopped without an answer"),
        ("unavailable", "No sandbox available"),
    ],
)
def test_failed_runs_explain_the_status_and_show_the_message(page, status, title):
    shown = run(page, f"""
        const el = answer.renderAnswer({{
            id: 'a', conversation_id: 'c', question: 'q', created_at: '2026-01-01T00:00:00Z',
            plan: {{language: 'sql', code: 'SELECT 1 FROM penguins', planner: 'offline',
                    explanation: ''}},
            result: {{version: 1, run_id: 'r', status: '{status}', columns: [], rows: [],
                      row_count: 0, truncated: false, elapsed_ms: 5012,
                      error: {{type: 'timeout', message: '<b>detail</b> for {status}'}}}},
            message: 'The run did not finish.', suggestions: []
        }}, {{onAsk: () => {{}}, datasetNames: ['penguins']}});
        document.body.replaceChildren(el);
        return {{
            title: el.querySelector('.error-title').textContent,
            detail: el.querySelector('.error-detail').textContent,
            badge: el.querySelector('.badge').textContent,
            bold: el.querySelectorAll('.error-box b').length,
            table: el.querySelectorAll('table').length,
            csv: [...el.querySelectorAll('button')].some(b => b.textContent.includes('CSV')),
        }};
    """)
    assert shown["title"] == title
    assert shown["detail"] == f"Details: <b>detail</b> for {status}"
    assert shown["bold"] == 0, "server text must not become markup"
    assert shown["table"] == 0 and shown["csv"] is False
    assert shown["badge"]
    if status == "timeout":
        page.add_style_tag(url="/styles.css")
        screenshot(page, "ui-error-timeout")


def test_truncated_answer_says_so(page):
    notice = run(page, """
        const rows = Array.from({length: 200}, (_, i) => [i]);
        const el = answer.renderAnswer({
            id: 'a', conversation_id: 'c', question: 'all flights', created_at: '',
            plan: {language: 'sql', code: 'SELECT * FROM flights', planner: 'offline',
                   explanation: ''},
            result: {version: 1, run_id: 'r', status: 'ok', columns: [{name: 'i', type: 'INTEGER'}],
                     rows, row_count: 200, truncated: true, elapsed_ms: 40, error: null},
            message: '200 rows', suggestions: []
        }, {onAsk: () => {}, datasetNames: ['flights']});
        document.body.replaceChildren(el);
        return el.querySelector('.notice-truncated').textContent;
    """)
    assert notice.startswith("Showing the first 200 rows.")


def test_weaker_isolation_chosen_by_the_operator_is_shown(page):
    shown = run(page, """
        const weak = readiness.renderIsolationNotice({status: 'ready', executor: 'bwrap',
            isolation: 'weaker than intended: per-process limits only <b>x</b>'});
        const normal = readiness.renderIsolationNotice({status: 'ready', executor: 'bwrap'});
        return {text: weak.textContent, bold: weak.querySelectorAll('span b').length,
                normal: normal};
    """)
    assert "Weaker sandbox isolation" in shown["text"]
    assert "per-process limits only <b>x</b>" in shown["text"]
    assert shown["bold"] == 0 and shown["normal"] is None

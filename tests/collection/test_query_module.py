"""corral.deploy.query against a real HTTP server on 127.0.0.1 that speaks docs/api.md."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ansible_collections.corral.deploy.plugins.module_utils import corral_api

TABLE = {
    "status": "ok",
    "columns": [{"name": "species", "type": "VARCHAR"}, {"name": "n", "type": "BIGINT"}],
    "rows": [["Adelie", 152], ["Chinstrap", 68], ["Gentoo", 124]],
    "row_count": 3,
    "truncated": False,
    "run_id": "r1",
}


DELETED: list[str] = []  # conversation ids the module deleted


class Handler(BaseHTTPRequestHandler):
    def do_DELETE(self):
        DELETED.append(self.path.rsplit("/", 1)[1])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):  # keep pytest output clean
        pass

    def answer(self, code, body, headers=()):
        raw = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        code = body.get("code") or body.get("question") or ""
        if self.path == "/api/query":
            if "empty" in code:
                return self.answer(200, dict(TABLE, rows=[], row_count=0))
            if "busy" in code:
                return self.answer(
                    429, {"detail": "All 4 sandboxes are busy; retry in a few seconds."},
                    [("Retry-After", "2")],
                )
            if "timeout" in code:
                return self.answer(200, dict(TABLE, status="timeout", rows=[], row_count=0,
                                             error={"message": "The run took longer than 5000 ms"}))
            return self.answer(200, TABLE)
        if self.path == "/api/chat":
            if "poem" in code:
                return self.answer(200, {"result": None, "plan": None,
                                         "message": "I can only answer questions about the datasets."})
            return self.answer(200, {"result": TABLE, "message": "3 species.",
                                     "conversation_id": code.replace(" ", "")[:32],
                                     "plan": {"language": "sql", "code": "SELECT 1"}})
        return self.answer(404, {"detail": "Not Found"})


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_sql_returns_the_table(adhoc, server):
    result = adhoc("corral.deploy.query", {"url": server, "sql": "SELECT species", "expected_min_rows": 3})
    assert result["rows"] == TABLE["rows"]
    assert [c["name"] for c in result["columns"]] == ["species", "n"]
    assert result["row_count"] == 3 and result["status"] == "ok" and result["changed"] is False


def test_question_returns_table_and_plan(adhoc, server):
    result = adhoc("corral.deploy.query", {"url": server + "/", "question": "species?"}, "--check")
    assert result["row_count"] == 3
    assert result["message"] == "3 species."
    assert result["plan"]["language"] == "sql"


def test_a_check_leaves_no_conversation_behind_unless_asked_to(adhoc, server):
    adhoc("corral.deploy.query", {"url": server, "question": "smokecheck"})
    assert "smokecheck" in DELETED
    adhoc("corral.deploy.query", {"url": server, "question": "kept", "keep_conversation": True})
    assert "kept" not in DELETED


def test_empty_result_fails(adhoc, server):
    result = adhoc("corral.deploy.query", {"url": server, "sql": "empty"}, expect_rc=(2,))
    assert result["msg"] == "the query returned 0 row(s), expected at least 1"


def test_http_error_shows_the_servers_detail(adhoc, server):
    result = adhoc("corral.deploy.query", {"url": server, "sql": "busy"}, expect_rc=(2,))
    assert result["msg"].endswith("answered HTTP 429: All 4 sandboxes are busy; retry in a few seconds.")
    assert result["http_status"] == 429


def test_run_status_other_than_ok_fails(adhoc, server):
    result = adhoc("corral.deploy.query", {"url": server, "sql": "timeout"}, expect_rc=(2,))
    assert result["msg"] == "the query ended with status 'timeout': The run took longer than 5000 ms"


def test_unanswerable_question_fails_with_the_chat_message(adhoc, server):
    result = adhoc("corral.deploy.query", {"url": server, "question": "a poem"}, expect_rc=(2,))
    assert "I can only answer questions about the datasets." in result["msg"]


def test_unreachable_server_is_named():
    with pytest.raises(corral_api.QueryError, match="cannot reach http://127.0.0.1:9/api/query"):
        corral_api.post("http://127.0.0.1:9", "/api/query", {}, timeout=2, validate_certs=True)


def test_question_and_sql_are_mutually_exclusive(adhoc, server):
    result = adhoc("corral.deploy.query", {"url": server, "sql": "x", "question": "y"}, expect_rc=(2,))
    assert "mutually exclusive: question|sql" in result["msg"]


def test_url_without_scheme_is_refused(adhoc):
    result = adhoc("corral.deploy.query", {"url": "localhost:8080", "sql": "x"}, expect_rc=(2,))
    assert result["msg"].startswith("url: expected http:// or https://")

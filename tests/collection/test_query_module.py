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
# The server requires sign-in, as Corral does by default: this token, as a Bearer header.
TOKEN = "crl_" + "t" * 43


class Handler(BaseHTTPRequestHandler):
    def signed_in(self):
        if self.headers.get("Authorization") == f"Bearer {TOKEN}":
            return True
        self.answer(401, {"detail": "Sign in first"}, [("WWW-Authenticate", "Bearer")])
        return False

    def do_DELETE(self):
        if not self.signed_in():
            return
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
        if not self.signed_in():
            return
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
    result = adhoc("corral.deploy.query", {"url": server, "token": TOKEN, "sql": "SELECT species", "expected_min_rows": 3})
    assert result["rows"] == TABLE["rows"]
    assert [c["name"] for c in result["columns"]] == ["species", "n"]
    assert result["row_count"] == 3 and result["status"] == "ok" and result["changed"] is False


def test_question_returns_table_and_plan(adhoc, server):
    result = adhoc("corral.deploy.query", {"url": server + "/", "token": TOKEN, "question": "species?"}, "--check")
    assert result["row_count"] == 3
    assert result["message"] == "3 species."
    assert result["plan"]["language"] == "sql"


def test_a_check_leaves_no_conversation_behind_unless_asked_to(adhoc, server):
    adhoc("corral.deploy.query", {"url": server, "token": TOKEN, "question": "smokecheck"})
    assert "smokecheck" in DELETED
    adhoc("corral.deploy.query", {"url": server, "token": TOKEN, "question": "kept", "keep_conversation": True})
    assert "kept" not in DELETED


def test_empty_result_fails(adhoc, server):
    result = adhoc("corral.deploy.query", {"url": server, "token": TOKEN, "sql": "empty"}, expect_rc=(2,))
    assert result["msg"] == "the query returned 0 row(s), expected at least 1"


def test_http_error_shows_the_servers_detail(adhoc, server):
    result = adhoc("corral.deploy.query", {"url": server, "token": TOKEN, "sql": "busy"}, expect_rc=(2,))
    assert result["msg"].endswith("answered HTTP 429: All 4 sandboxes are busy; retry in a few seconds.")
    assert result["http_status"] == 429


def test_run_status_other_than_ok_fails(adhoc, server):
    result = adhoc("corral.deploy.query", {"url": server, "token": TOKEN, "sql": "timeout"}, expect_rc=(2,))
    assert result["msg"] == "the query ended with status 'timeout': The run took longer than 5000 ms"


def test_unanswerable_question_fails_with_the_chat_message(adhoc, server):
    result = adhoc("corral.deploy.query", {"url": server, "token": TOKEN, "question": "a poem"}, expect_rc=(2,))
    assert "I can only answer questions about the datasets." in result["msg"]


def test_unreachable_server_is_named():
    with pytest.raises(corral_api.QueryError, match="cannot reach http://127.0.0.1:9/api/query"):
        corral_api.post("http://127.0.0.1:9", "/api/query", {}, timeout=2, validate_certs=True)


def test_question_and_sql_are_mutually_exclusive(adhoc, server):
    result = adhoc("corral.deploy.query", {"url": server, "token": TOKEN, "sql": "x", "question": "y"}, expect_rc=(2,))
    assert "mutually exclusive: question|sql" in result["msg"]


def test_url_without_scheme_is_refused(adhoc):
    result = adhoc("corral.deploy.query", {"url": "localhost:8080", "sql": "x"}, expect_rc=(2,))
    assert result["msg"].startswith("url: expected http:// or https://")


def test_token_file_is_read_and_its_token_never_shown(adhoc, server, tmp_path):
    path = tmp_path / "automation-token"
    path.write_text(TOKEN + "\n")
    result = adhoc("corral.deploy.query", {"url": server, "sql": "x", "token_file": str(path)})
    assert result["row_count"] == 3
    assert TOKEN not in json.dumps(result)


def test_without_a_token_the_401_says_what_is_missing(adhoc, server):
    result = adhoc("corral.deploy.query", {"url": server, "sql": "x"}, expect_rc=(2,))
    assert result["http_status"] == 401
    assert result["msg"].endswith("answered HTTP 401: Sign in first (sign-in is required: give token or token_file)")


def test_a_wrong_token_is_refused_and_not_echoed(adhoc, server):
    wrong = "crl_" + "w" * 43
    result = adhoc("corral.deploy.query", {"url": server, "sql": "x", "token": wrong}, expect_rc=(2,))
    assert "(the token is unknown, expired or revoked)" in result["msg"]
    assert wrong not in json.dumps(result)


def test_an_unreadable_or_empty_token_file_is_named(adhoc, server, tmp_path):
    result = adhoc("corral.deploy.query", {"url": server, "sql": "x", "token_file": str(tmp_path / "none")},
                   expect_rc=(2,))
    assert result["msg"].startswith("token_file: cannot read ")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    result = adhoc("corral.deploy.query", {"url": server, "sql": "x", "token_file": str(empty)}, expect_rc=(2,))
    assert result["msg"] == f"token_file: {empty} is empty; expected an API token (crl_...)"


def test_token_and_token_file_are_mutually_exclusive(adhoc, server, tmp_path):
    result = adhoc("corral.deploy.query", {"url": server, "sql": "x", "token": TOKEN,
                                           "token_file": str(tmp_path / "t")}, expect_rc=(2,))
    assert "mutually exclusive: token|token_file" in result["msg"]

# Copyright: Corral contributors
# Apache-2.0
"""Client side of Corral's HTTP API (docs/api.md) for corral.deploy.query."""

from __future__ import annotations

import json

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url


class QueryError(Exception):
    """A query that did not produce a usable table; the message says what the user sees."""

    def __init__(self, message, status_code=None, body=None):
        super().__init__(message)
        self.status_code = status_code
        self.body = body


def build_request(question=None, sql=None, max_rows=None, dataset=None):
    """(path, payload) for a question (/api/chat) or SQL (/api/query)."""
    if sql is not None:
        payload = {"language": "sql", "code": sql}
        if max_rows is not None:
            payload["max_rows"] = max_rows
        return "/api/query", payload
    payload = {"question": question}
    if dataset:
        payload["dataset"] = dataset
    return "/api/chat", payload


def _detail(body):
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        return (body or "").strip()[:300]
    if isinstance(detail, list):  # FastAPI validation errors
        return "; ".join(
            "{}: {}".format(".".join(str(p) for p in d.get("loc", [])), d.get("msg")) for d in detail
        )
    return str(detail)


def read_token(token=None, token_file=None):
    """The API token from O(token) or the first line of O(token_file); None when neither is set.

    Raises QueryError naming the option when the file cannot be read or holds no token."""
    if token:
        return token.strip()
    if not token_file:
        return None
    try:
        with open(token_file, encoding="utf-8") as handle:
            value = handle.readline().strip()
    except OSError as exc:
        raise QueryError(f"token_file: cannot read {token_file}: {exc.strerror or exc}") from None
    if not value:
        raise QueryError(f"token_file: {token_file} is empty; expected an API token (crl_...)")
    return value


def auth_headers(token):
    """Authorization header for a Corral API token (none without a token)."""
    return {"Authorization": "Bearer " + token} if token else {}


def post(url, path, payload, timeout, validate_certs, opener=open_url, token=None):
    """POST JSON; return (http status, parsed body). Raises QueryError on HTTP/network errors."""
    target = url.rstrip("/") + path
    try:
        response = opener(
            target,
            data=json.dumps(payload),
            method="POST",
            headers=dict({"Content-Type": "application/json", "Accept": "application/json"},
                         **auth_headers(token)),
            timeout=timeout,
            validate_certs=validate_certs,
        )
        status, raw = response.getcode(), response.read()
    except HTTPError as exc:
        body = exc.read().decode("utf-8", "replace") if hasattr(exc, "read") else ""
        hint = ""
        if exc.code == 401:
            hint = " (sign-in is required: give token or token_file)" if not token else \
                " (the token is unknown, expired or revoked)"
        raise QueryError(
            f"{target} answered HTTP {exc.code}: {_detail(body) or exc.reason}{hint}",
            status_code=exc.code,
            body=body,
        ) from None
    except URLError as exc:
        raise QueryError(f"cannot reach {target}: {exc.reason}") from None
    except OSError as exc:  # timeouts, resets
        raise QueryError(f"cannot reach {target}: {exc}") from None
    try:
        return status, json.loads(raw)
    except ValueError:
        raise QueryError(
            f"{target} answered HTTP {status} with a body that is not JSON: {raw[:200]!r}",
            status_code=status,
        ) from None


def forget_conversation(url, body, timeout, validate_certs, opener=open_url, token=None):
    """DELETE the conversation an /api/chat answer started; return a warning or None.

    A deployment's own checks must leave no trace in its users' history."""
    conversation_id = (body or {}).get("conversation_id") if isinstance(body, dict) else None
    if not conversation_id:
        return None
    target = "{}/api/conversations/{}".format(url.rstrip("/"), conversation_id)
    try:
        opener(target, method="DELETE", timeout=timeout, validate_certs=validate_certs,
               headers=auth_headers(token))
    except (HTTPError, URLError, OSError) as exc:
        return f"could not delete the check's conversation {conversation_id}: {exc}"
    return None


def table_from(path, body):
    """Pull the run (result table) out of an /api/query or /api/chat answer."""
    if path == "/api/chat":
        run = body.get("result")
        if run is None:
            raise QueryError(
                "Corral could not answer the question: %s" % (body.get("message") or "no result"),
                body=body,
            )
        return run, body.get("plan"), body.get("message")
    return body, None, None


def check_table(run, expected_min_rows):
    status = run.get("status")
    if status != "ok":
        error = run.get("error") or {}
        message = error.get("message") if isinstance(error, dict) else error
        raise QueryError("the query ended with status '{}': {}".format(status, message or "no detail"))
    row_count = run.get("row_count", len(run.get("rows") or []))
    if row_count < expected_min_rows:
        raise QueryError(
            f"the query returned {row_count} row(s), expected at least {expected_min_rows}"
        )
    return row_count

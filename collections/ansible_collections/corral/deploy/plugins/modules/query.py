#!/usr/bin/python
# Copyright: Corral contributors
# Apache-2.0
"""corral.deploy.query: ask a deployed Corral a question or SQL and return the table."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: query
short_description: Ask a deployed Corral a question or SQL through its API
version_added: 0.1.0
description:
  - Sends a question to C(POST /api/chat) or SQL to C(POST /api/query) of a running Corral
    and returns the table (columns, rows, row_count, status).
  - Fails, with the server's own message, on an HTTP error, an unreachable server, a run whose
    status is not C(ok), or fewer rows than O(expected_min_rows).
  - Smoke playbooks and CI use it to prove a deployment answers.
  - Uses Ansible's C(open_url); no extra Python packages on the target.
author: Corral contributors
attributes:
  check_mode:
    support: full
    description: Read-only from Ansible's point of view (the server records the question in
      its conversation history and audit log); it runs in check mode too.
  diff_mode:
    support: none
options:
  url:
    description: Base URL of Corral (the UI, which proxies C(/api), or the agent server).
    type: str
    required: true
  question:
    description: A question in plain language (C(/api/chat)).
    type: str
  sql:
    description: One SQL statement (C(/api/query)); the server's guard still applies.
    type: str
  dataset:
    description: Dataset the question is about (C(/api/chat) only).
    type: str
  max_rows:
    description: Row cap for O(sql) (C(/api/query) only); the server's default otherwise.
    type: int
  expected_min_rows:
    description: Fail when the table has fewer rows.
    type: int
    default: 1
  timeout:
    description: Seconds to wait for the answer.
    type: int
    default: 30
  validate_certs:
    description: Verify the server's TLS certificate (set V(false) for a self-signed one).
    type: bool
    default: true
  token:
    description:
      - API token (C(crl_...)) sent in the C(Authorization) header as a bearer token; Corral requires sign-in
        unless it runs with C(AUTH_MODE=none).
      - Create one with C(corral tokens create --user NAME --scope query) or on the admin page.
        Prefer O(token_file), which keeps it out of playbooks and logs.
    type: str
  token_file:
    description:
      - File on the target whose first line is the API token (the corral_app role keeps the
        automation user's token in C(/opt/corral/secrets/automation-token), mode 0600).
    type: path
  keep_conversation:
    description:
      - A question starts a conversation; by default it is deleted once answered, so a
        deployment's checks leave no trace in its users' history. V(true) keeps it.
    type: bool
    default: false
notes:
  - Exactly one of O(question) and O(sql) is required.
  - At most one of O(token) and O(token_file). An HTTP 401 answer names what is missing.
"""

EXAMPLES = r"""
- name: Smoke test through the UI's proxy, with the token the corral_app role created
  corral.deploy.query:
    url: http://127.0.0.1:8080
    token_file: /opt/corral/secrets/automation-token
    sql: SELECT species, count(*) AS n FROM penguins GROUP BY species
    expected_min_rows: 3

- name: Ask a question over HTTPS with a self-signed certificate
  corral.deploy.query:
    url: https://corral.example.org
    question: How many penguins are there per island?
    token: "{{ corral_api_token }}"
    validate_certs: false
  register: answer
"""

RETURN = r"""
status:
  description: Status of the run (C(ok) on success).
  returned: success
  type: str
  sample: ok
columns:
  description: Result columns, each with name and type.
  returned: success
  type: list
  elements: dict
  sample: [{name: species, type: VARCHAR}, {name: n, type: BIGINT}]
rows:
  description: Result rows.
  returned: success
  type: list
  elements: list
  sample: [[Adelie, 152], [Chinstrap, 68], [Gentoo, 124]]
row_count:
  description: Number of rows.
  returned: success
  type: int
  sample: 3
truncated:
  description: Whether the server cut the table at its row cap.
  returned: success
  type: bool
plan:
  description: The plan the planner made (questions only).
  returned: when a question was asked
  type: dict
message:
  description: The one-line chat answer (questions only).
  returned: when a question was asked
  type: str
http_status:
  description: HTTP status of the answer.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.corral.deploy.plugins.module_utils import corral_api


def main():
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "question": {"type": "str"},
            "sql": {"type": "str"},
            "dataset": {"type": "str"},
            "max_rows": {"type": "int"},
            "expected_min_rows": {"type": "int", "default": 1},
            "timeout": {"type": "int", "default": 30},
            "validate_certs": {"type": "bool", "default": True},
            "keep_conversation": {"type": "bool", "default": False},
            "token": {"type": "str", "no_log": True},
            "token_file": {"type": "path"},
        },
        mutually_exclusive=[("question", "sql"), ("token", "token_file")],
        required_one_of=[("question", "sql")],
        supports_check_mode=True,
    )
    params = module.params
    if not params["url"].startswith(("http://", "https://")):
        module.fail_json(msg="url: expected http:// or https://..., got {!r}".format(params["url"]))
    path, payload = corral_api.build_request(
        params["question"], params["sql"], params["max_rows"], params["dataset"]
    )
    http_status, body, token = None, None, None
    try:
        token = corral_api.read_token(params["token"], params["token_file"])
        http_status, body = corral_api.post(
            params["url"], path, payload, params["timeout"], params["validate_certs"], token=token
        )
        run, plan, message = corral_api.table_from(path, body)
        row_count = corral_api.check_table(run, params["expected_min_rows"])
    except corral_api.QueryError as exc:
        _forget(module, body, token)
        module.fail_json(msg=str(exc), http_status=exc.status_code or http_status)
    _forget(module, body, token)
    result = {
        "changed": False,
        "http_status": http_status,
        "status": run.get("status"),
        "columns": run.get("columns", []),
        "rows": run.get("rows", []),
        "row_count": row_count,
        "truncated": run.get("truncated", False),
    }
    if plan is not None or message is not None:
        result.update(plan=plan, message=message)
    module.exit_json(**result)


def _forget(module, body, token):
    params = module.params
    if params["question"] is None or params["keep_conversation"]:
        return
    warning = corral_api.forget_conversation(
        params["url"], body, params["timeout"], params["validate_certs"], token=token)
    if warning:
        module.warn(warning)


if __name__ == "__main__":
    main()

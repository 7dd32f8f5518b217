"""site.yml converged a fresh Debian container into compose mode: the UI answers a real
browser on the host, and a question asked through the UI port comes back as a table."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from browser import penguins_table_in_browser
from corral_checks import PENGUINS_SQL, assert_penguins_table, browser_user, post_json

HOST_URL = f"http://127.0.0.1:{os.environ.get('CORRAL_FULLSTACK_PORT', '18080')}"


def test_engine_was_installed_by_site_yml(host):
    assert host.package("docker.io").is_installed
    assert host.service("docker").is_running


def test_query_through_the_ui_port_returns_a_table(host):
    assert_penguins_table(
        post_json(host, "http://127.0.0.1:8080/api/query", {"language": "sql", "code": PENGUINS_SQL})
    )


def test_chromium_on_the_host_gets_a_table(host):
    headers, rows = penguins_table_in_browser(HOST_URL, browser_user(host, "compose"))
    assert headers[0] == "species"
    assert sorted(r[0] for r in rows) == ["Adelie", "Chinstrap", "Gentoo"]

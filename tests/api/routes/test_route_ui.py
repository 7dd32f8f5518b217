"""The web UI's static files at / (UI_DIR set), under the API and never over it."""

from __future__ import annotations

from agent_server import ROOT


def test_ui_is_served_at_the_root(api):
    page = api.get("/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert page.text == (ROOT / "app" / "ui" / "index.html").read_text()
    assert api.get("/app.js").status_code == 200


def test_build_files_are_not_content(api):
    assert api.get("/Dockerfile").status_code == 404
    assert api.get("/container/entrypoint.sh").status_code == 404


def test_the_api_wins_over_the_files(api):
    assert api.get("/api/suggestions").headers["content-type"] == "application/json"
    assert api.get("/api").status_code == 404
    assert api.get("/api/").json() == {"detail": "Not Found"}

"""/api/conversations as a client sees it: paging (limit/offset, X-Total-Count, Link),
reading and deleting one, and ids that are not ids."""

from __future__ import annotations

import httpx
import pytest
from agent_server import RunningServer, server_settings

CID = "0" * 32


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A server of its own: the paging tests count every conversation."""
    settings = server_settings(tmp_path_factory.mktemp("paging"))
    with RunningServer(settings) as s, httpx.Client(base_url=s.url, headers=s.headers, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def five(fresh):
    """Five conversations the planner cannot plan (no sandbox), newest first."""
    ids = [fresh.post("/api/chat", json={"question": f"weather {i}?"}).json()["conversation_id"]
           for i in range(5)]
    return ids[::-1]


def test_list_is_newest_first_with_a_total(fresh, five):
    response = fresh.get("/api/conversations")
    assert response.status_code == 200
    assert [c["id"] for c in response.json()] == five
    assert response.headers["x-total-count"] == "5"
    assert "link" not in response.headers  # one page holds them all
    first = response.json()[0]
    assert first["title"] == "weather 4?" and first["message_count"] == 1


def test_pages_follow_the_link_header(fresh, five):
    seen, url = [], "/api/conversations?limit=2"
    while url:
        response = fresh.get(url)
        assert response.status_code == 200 and response.headers["x-total-count"] == "5"
        seen += [c["id"] for c in response.json()]
        link = response.headers.get("link")
        url = link[1:link.index(">")] if link else None
        if url:
            assert link.endswith('; rel="next"') and "limit=2" in url
    assert seen == five


def test_offset_past_the_end_is_an_empty_page(fresh, five):
    response = fresh.get("/api/conversations", params={"offset": 10})
    assert response.status_code == 200 and response.json() == []
    assert response.headers["x-total-count"] == "5"


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"limit": "ten"}, "limit"),
    ({"limit": "1.5"}, "limit"), ({"offset": -1}, "offset"),
    ({"offset": 10**20}, "offset"),
])
def test_bad_paging_is_422_naming_the_parameter(fresh, params, field):
    response = fresh.get("/api/conversations", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", field]


def test_read_and_delete(fresh, five):
    cid = five[-1]
    response = fresh.get(f"/api/conversations/{cid}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == cid and body["messages"][0]["question"] == "weather 0?"
    deleted = fresh.delete(f"/api/conversations/{cid}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert fresh.get(f"/api/conversations/{cid}").status_code == 404
    assert fresh.get("/api/conversations").headers["x-total-count"] == "4"


def test_unknown_conversation_is_404_with_a_message(fresh):
    for response in (fresh.get(f"/api/conversations/{CID}"),
                     fresh.delete(f"/api/conversations/{CID}")):
        assert response.status_code == 404
        assert response.json() == {"detail": f"Conversation {CID} does not exist."}


@pytest.mark.parametrize("bad", ["abc", "0" * 33, "G" * 32, "%ED%A0%80", "%00" * 32])
def test_an_id_that_is_not_an_id_is_422(fresh, bad):
    for response in (fresh.get(f"/api/conversations/{bad}"),
                     fresh.delete(f"/api/conversations/{bad}")):
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["loc"] == ["path", "conversation_id"]


def test_post_is_405(fresh):
    response = fresh.post("/api/conversations", json={})
    assert response.status_code == 405 and response.headers["allow"] == "GET"


@pytest.mark.parametrize("method", ["OPTIONS", "PUT", "POST", "PATCH"])
def test_allow_lists_every_method_of_the_path(fresh, method):
    response = fresh.request(method, f"/api/conversations/{CID}")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET"

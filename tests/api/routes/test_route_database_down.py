"""What a client sees while the database is down (a real PostgreSQL, stopped and
started again under the running agent server): 503 with Retry-After on every route
that needs it, a plain sentence for the analyst, /readyz naming the problem for the
operator, and everything back once the database is."""

from __future__ import annotations

import httpx
import pytest
from agent_server import RunningServer, server_settings
from pg_server import PostgresUnavailable, postgres_server

CID = "0" * 32


@pytest.fixture(scope="module")
def pg():
    try:
        with postgres_server() as server:
            yield server
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


@pytest.mark.bwrap  # /readyz is ready again only where bubblewrap answers
def test_database_down_is_503_then_heals(tmp_path, pg):
    settings = server_settings(tmp_path, database_url=pg.url)
    with RunningServer(settings) as s, httpx.Client(base_url=s.url, headers=s.headers, timeout=60) as c:
        assert c.get("/api/conversations").status_code == 200
        pg.stop()
        try:
            for response in (c.get("/api/conversations"),
                             c.get(f"/api/conversations/{CID}"),
                             c.delete(f"/api/conversations/{CID}"),
                             c.post("/api/chat", json={"question": "What is the weather?"})):
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"] == "5"
                assert response.json() == {"detail": "The database is unavailable right now; "
                                                     "try again in a few seconds."}
            ready = c.get("/readyz")
            assert ready.status_code == 503 and "DATABASE_URL" in ready.json()["detail"]
            # The catalog needs no database, but who is asking is known only from it.
            assert c.get("/api/datasets").status_code == 503
            assert c.get("/healthz").status_code == 200
        finally:
            pg.start()
        assert c.get("/api/conversations").status_code == 200
        assert c.get("/readyz").status_code == 200

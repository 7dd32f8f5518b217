"""Per-user limits (app/user_limits.py) as users meet them: each user has an allowance of
their own, the refusal names the variable and says when to retry, and another user is
unaffected. In the unit tests a clock the test moves stands in for the minute; the API
tests use real users, real tokens and real sandboxes."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from agent_server import RunningServer, metric, server_settings
from auth_helpers import auth_headers, issue_token

from app.metrics import Metrics
from app.user_limits import UserLimitExceeded, UserLimits


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def limits(clock, per_minute=3, sandboxes=2, timeout_ms=5000):
    return UserLimits(per_minute, sandboxes, timeout_ms, Metrics(), clock=clock)


def run_once(lim, user):
    with lim.run(user):
        pass


def test_each_user_has_their_own_minute(clock):
    lim = limits(clock)
    for _ in range(3):
        run_once(lim, "alice")
        run_once(lim, "bob")
    with pytest.raises(UserLimitExceeded) as alice:
        run_once(lim, "alice")
    assert alice.value.limit == "USER_RUNS_PER_MINUTE"
    assert "USER_RUNS_PER_MINUTE=3" in str(alice.value)
    assert alice.value.retry_after_s == 60
    assert lim.metrics.user_limit_rejections.labels(limit="USER_RUNS_PER_MINUTE")._value.get() == 1


def test_the_window_slides(clock):
    lim = limits(clock)
    run_once(lim, "alice")
    clock.now += 40
    run_once(lim, "alice")
    run_once(lim, "alice")
    with pytest.raises(UserLimitExceeded) as refused:
        run_once(lim, "alice")
    assert refused.value.retry_after_s == 20  # the first start leaves the window then
    clock.now += 20
    run_once(lim, "alice")  # one start left the window; one more fits
    with pytest.raises(UserLimitExceeded):
        run_once(lim, "alice")


def test_a_refused_start_does_not_use_up_the_allowance(clock):
    lim = limits(clock, per_minute=1)
    run_once(lim, "alice")
    for _ in range(5):
        with pytest.raises(UserLimitExceeded):
            run_once(lim, "alice")
    clock.now += 60
    run_once(lim, "alice")


def test_concurrent_sandboxes_are_counted_per_user(clock):
    lim = limits(clock, per_minute=100, sandboxes=2, timeout_ms=12500)
    with lim.run("alice"), lim.run("alice"):
        with pytest.raises(UserLimitExceeded) as refused, lim.run("alice"):
            pass
        assert refused.value.limit == "USER_MAX_SANDBOXES"
        assert "USER_MAX_SANDBOXES=2" in str(refused.value)
        assert refused.value.retry_after_s == 13  # one run's deadline, rounded up
        with lim.run("bob"), lim.run("bob"):
            pass  # bob is unaffected
    with lim.run("alice"), lim.run("alice"):
        pass  # slots come back when runs end, also after an exception:
    with pytest.raises(RuntimeError), lim.run("alice"):
        raise RuntimeError("sandbox failed")
    assert lim.running == {}


def test_a_refusal_for_sandboxes_does_not_count_as_a_start(clock):
    lim = limits(clock, per_minute=2, sandboxes=1)
    with lim.run("alice"), pytest.raises(UserLimitExceeded):
        run_once(lim, "alice")
    run_once(lim, "alice")  # the second start of the minute: allowed


# --- through the API: /api/chat and /api/query, real users with real tokens -------------

SLOW = {"language": "python", "code": "import time\ntime.sleep(3)\nresult = 1"}
QUESTION = {"question": "weather tomorrow?"}  # not plannable: a stored answer, no sandbox


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = server_settings(tmp_path_factory.mktemp("limits"), warm_pool_size=0,
                               user_runs_per_minute=2, user_max_sandboxes=1,
                               run_timeout_ms=20000)
    with RunningServer(settings) as s:
        yield s


def user(server, name):
    token = issue_token(server.settings.database_url, name, role="analyst", scope="query")
    return httpx.Client(base_url=server.url, headers=auth_headers(token), timeout=60)


def test_two_users_each_get_their_own_runs_per_minute(server):
    alice, bob = user(server, "alice"), user(server, "bob")
    assert [alice.post("/api/chat", json=QUESTION).status_code for _ in range(2)] == [200, 200]
    refused = alice.post("/api/chat", json=QUESTION)
    assert refused.status_code == 429
    assert "USER_RUNS_PER_MINUTE=2" in refused.json()["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert alice.post("/api/query", json={"language": "sql", "code": "SELECT 1"}).status_code == 429
    assert alice.get("/api/conversations").headers["x-total-count"] == "2"  # nothing stored
    assert [bob.post("/api/chat", json=QUESTION).status_code for _ in range(2)] == [200, 200]
    assert metric(alice, "corral_user_limit_rejections_total", limit="USER_RUNS_PER_MINUTE") == 2


@pytest.mark.bwrap
def test_a_user_at_their_sandbox_limit_does_not_hold_up_another(server):
    carol, dave = user(server, "carol"), user(server, "dave")
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(carol.post, "/api/query", json=SLOW)
        while metric(carol, "corral_active_sandboxes") < 1:  # carol's run holds her slot
            assert not slow.done(), slow.result().text
            time.sleep(0.05)
        refused = carol.post("/api/query", json={"language": "sql", "code": "SELECT 1"})
        other = dave.post("/api/query", json={"language": "sql", "code": "SELECT 1"})
        first = slow.result()
    assert refused.status_code == 429
    assert "USER_MAX_SANDBOXES=1" in refused.json()["detail"]
    assert int(refused.headers["retry-after"]) == 20  # one run's deadline
    assert other.status_code == 200 and other.json()["status"] == "ok"  # dave unaffected
    assert first.status_code == 200 and first.json()["status"] == "ok", first.text
    assert metric(carol, "corral_user_limit_rejections_total", limit="USER_MAX_SANDBOXES") == 1


def test_a_second_token_of_the_same_user_shares_their_minute(server):
    first, second = user(server, "erin"), user(server, "erin")  # two tokens, one user
    assert first.headers["authorization"] != second.headers["authorization"]
    assert [first.post("/api/chat", json=QUESTION).status_code for _ in range(2)] == [200, 200]
    refused = second.post("/api/chat", json=QUESTION)
    assert refused.status_code == 429 and "USER_RUNS_PER_MINUTE=2" in refused.json()["detail"]

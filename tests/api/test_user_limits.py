"""Per-user limits (app/user_limits.py) as users meet them: each user has an allowance of
their own, the refusal names the variable and says when to retry, and another user is
unaffected. A clock the test moves stands in for the minute."""

from __future__ import annotations

import pytest

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


def test_concurrent_sandboxes_per_user(clock):
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

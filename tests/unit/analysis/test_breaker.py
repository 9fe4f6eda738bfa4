"""The circuit breaker opens after consecutive failures, lets one trial through, and backs off."""

from camops_workers.analysis.breaker import BreakerState, CircuitBreaker


def state(breaker: CircuitBreaker) -> BreakerState:
    """Read the state through a call so each assert sees the current value."""
    return breaker.state


def test_opens_after_threshold_and_holds_requests_back() -> None:
    breaker = CircuitBreaker(failure_threshold=3, open_s=10, max_open_s=60)
    for now in (0.0, 1.0):
        assert breaker.allow(now)
        breaker.record_failure(now)
    assert state(breaker) is BreakerState.CLOSED
    breaker.record_failure(2.0)
    assert state(breaker) is BreakerState.OPEN
    assert not breaker.allow(11.9)


def test_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(failure_threshold=2)
    breaker.record_failure(0)
    breaker.record_success()
    breaker.record_failure(1)
    assert state(breaker) is BreakerState.CLOSED


def test_half_open_allows_one_trial_and_closes_on_success() -> None:
    breaker = CircuitBreaker(failure_threshold=1, open_s=5)
    breaker.record_failure(0)
    assert breaker.allow(5.0)
    assert state(breaker) is BreakerState.HALF_OPEN
    assert not breaker.allow(5.1), "only one trial at a time"
    breaker.record_success()
    assert state(breaker) is BreakerState.CLOSED
    assert breaker.allow(5.2)


def test_failed_trial_reopens_with_a_doubled_capped_period() -> None:
    breaker = CircuitBreaker(failure_threshold=1, open_s=5, max_open_s=12)
    breaker.record_failure(0)
    periods = []
    now = 0.0
    for _ in range(4):
        now += breaker.current_open_s
        assert breaker.allow(now)
        breaker.record_failure(now)
        periods.append(breaker.current_open_s)
    assert periods == [10, 12, 12, 12]

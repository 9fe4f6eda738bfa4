"""Circuit breaker transitions and the backoff arithmetic (pure: time is passed in)."""

from __future__ import annotations

from camops_workers.queue.breaker import CircuitBreaker
from camops_workers.queue.uploader import retry_delay


def test_open_periods_double_cap_and_restart_after_closing() -> None:
    breaker = CircuitBreaker(failure_threshold=1, base_open_s=1.0, max_open_s=4.0, jitter=0.0)
    periods = []
    for t in (0.0, 10.0, 20.0, 30.0):
        breaker.allow(t)
        breaker.failure(t)
        periods.append(breaker.wait_s(t))
    assert periods == [1.0, 2.0, 4.0, 4.0]
    breaker.allow(40.0)
    breaker.success(40.0)
    breaker.failure(41.0)
    assert breaker.wait_s(41.0) == 1.0


def test_retry_delay_is_capped() -> None:
    assert retry_delay(1, base_s=1.0, cap_s=60.0, rnd=0.5) == 1.0
    assert retry_delay(4, base_s=1.0, cap_s=60.0, rnd=0.5) == 8.0
    assert retry_delay(30, base_s=1.0, cap_s=60.0, rnd=0.999) == 60.0  # jitter never goes past the cap


def test_breaker_cycle_with_one_change_callback_per_transition() -> None:
    changes: list[tuple[str, str]] = []
    breaker = CircuitBreaker(
        failure_threshold=3,
        base_open_s=1.0,
        max_open_s=4.0,
        jitter=0.0,
        on_change=lambda a, b, _: changes.append((a, b)),
    )
    for t in range(2):
        assert breaker.allow(t)
        breaker.failure(t)
    assert str(breaker.state) == "closed"
    breaker.failure(2.0)
    assert str(breaker.state) == "open"
    assert not breaker.allow(2.5)
    assert breaker.wait_s(2.5) == 0.5
    assert breaker.allow(3.0)  # the one probe
    assert str(breaker.state) == "half-open"
    assert not breaker.allow(3.0)  # nobody else meanwhile
    breaker.failure(3.1)  # probe failed: open twice as long
    assert str(breaker.state) == "open"
    assert not breaker.allow(4.9)
    assert breaker.allow(5.1)
    breaker.release()  # the probe had nothing to send
    assert breaker.allow(5.2)
    breaker.success(5.3)
    assert str(breaker.state) == "closed"
    assert changes == [
        ("closed", "open"),
        ("open", "half-open"),
        ("half-open", "open"),
        ("open", "half-open"),
        ("half-open", "closed"),
    ]


def test_success_resets_the_failure_streak() -> None:
    breaker = CircuitBreaker(failure_threshold=2)
    breaker.failure(0)
    breaker.success(0)
    breaker.failure(0)
    assert str(breaker.state) == "closed"

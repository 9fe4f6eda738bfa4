"""The project's one backoff: capped exponential with jitter, reset on success."""

from __future__ import annotations

import itertools

import pytest

from camops_workers.backoff import Backoff, BackoffPolicy, backoff_delay


def test_doubles_from_base_and_caps() -> None:
    policy = BackoffPolicy(base_s=1.0, cap_s=300.0, jitter=0.2)
    delays = [backoff_delay(n, 0.5, policy) for n in range(1, 12)]
    assert delays[:4] == [1.0, 2.0, 4.0, 8.0]
    assert delays[-1] == 300.0
    assert all(a <= b for a, b in itertools.pairwise(delays))


def test_jitter_spreads_but_never_exceeds_the_cap() -> None:
    policy = BackoffPolicy(base_s=1.0, cap_s=300.0, jitter=0.2)
    low, high = backoff_delay(3, 0.0, policy), backoff_delay(3, 0.999, policy)
    assert 3.1 < low < 4.0 < high < 4.9
    assert backoff_delay(40, 0.999, policy) == 300.0
    assert backoff_delay(10_000, 0.5, policy) == 300.0  # no overflow for absurd attempt counts
    with pytest.raises(ValueError, match="attempt"):
        backoff_delay(0, 0.5, policy)


def test_invalid_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        BackoffPolicy(base_s=0.0)
    with pytest.raises(ValueError, match="fraction"):
        BackoffPolicy(jitter=1.0)


def test_reset_starts_again_from_the_base_whatever_came_before() -> None:
    backoff = Backoff(BackoffPolicy(base_s=0.5, cap_s=8.0, jitter=0.0), rng=lambda: 0.5)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff.attempt == 6
    backoff.reset()
    assert backoff.attempt == 0
    assert backoff.next_delay() == 0.5


def test_injected_rng_decides_the_jitter() -> None:
    values = iter([0.0, 0.999])
    backoff = Backoff(BackoffPolicy(base_s=10.0, cap_s=100.0, jitter=0.1), rng=lambda: next(values))
    assert backoff.next_delay() == pytest.approx(9.0)
    assert backoff.next_delay() == pytest.approx(21.996)


def test_outage_share_keeps_short_outages_quick_and_long_ones_sparse() -> None:
    policy = BackoffPolicy(base_s=0.25, cap_s=5.0, jitter=0.0, outage_share=0.05)
    # Away 4 s: however many attempts failed, the wait stays at the base (a returning camera is
    # seen again within a quarter second).
    assert backoff_delay(30, 0.5, policy, outage_s=4.0) == 0.25
    # Away 10 s: at most 5 % of it.
    assert backoff_delay(30, 0.5, policy, outage_s=10.0) == 0.5
    # Away for an hour: one attempt per cap.
    assert backoff_delay(30, 0.5, policy, outage_s=3600.0) == 5.0
    # Early attempts still climb from the base.
    assert backoff_delay(1, 0.5, policy, outage_s=3600.0) == 0.25


def test_backoff_measures_the_outage_on_its_injected_clock() -> None:
    now = [100.0]
    backoff = Backoff(
        BackoffPolicy(base_s=0.25, cap_s=5.0, jitter=0.0, outage_share=0.05), rng=lambda: 0.5, clock=lambda: now[0]
    )
    delays = []
    for _ in range(400):  # a camera down for a long time, retried at each delay
        delays.append(backoff.next_delay())
        now[0] += delays[-1] + 1.0  # each attempt also spends a second timing out
    assert delays[0] == 0.25
    assert max(delays[:8]) <= 0.5  # the first ~10 s away: at most half a second between attempts
    assert delays[-1] == 5.0
    backoff.reset()
    now[0] += 1.0
    assert backoff.next_delay() == 0.25  # a new outage starts from the base again

"""Capped exponential backoff with jitter: the one implementation every retry loop in camops uses.

``backoff_delay(attempt, rnd, policy)`` is the pure rule: ``base * 2**(attempt-1)`` spread by
±``jitter`` (``rnd`` in [0, 1)), never above ``cap``. ``Backoff`` is the small counter a loop
holds: ``next_delay()`` after a failure, ``reset()`` after a success, the random source injected
so tests choose the jitter. Users: the capture worker's reconnects, the uploader's per-item
retries, the storage circuit breaker's open periods, the operator's reconcile retries.

A policy may also bound each wait by a share of the outage so far (``outage_share``): the capture
worker retries a camera that has been away ten seconds within half a second, one away for an hour
every ``cap_s``, so a returning camera is seen again within a small fraction of its absence (a
camera up 5 s at a time keeps ~90 % of its up-time) while a site that is down for long costs one
attempt per camera every ``cap_s``, not several a second.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Backoff", "BackoffPolicy", "backoff_delay"]


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """``base_s`` before the first retry, doubling per attempt up to ``cap_s``; ``jitter`` is a fraction (±)."""

    base_s: float = 1.0
    cap_s: float = 300.0
    jitter: float = 0.2
    #: When set, no wait is longer than this share of the outage so far (but at least ``base_s``).
    outage_share: float | None = None

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s <= 0:
            raise ValueError("a backoff needs a positive base and cap")
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError("jitter is a fraction in [0, 1)")
        if self.outage_share is not None and not 0.0 < self.outage_share <= 1.0:
            raise ValueError("outage_share is a fraction in (0, 1]")


def backoff_delay(attempt: int, rnd: float, policy: BackoffPolicy, outage_s: float | None = None) -> float:
    """Seconds to wait before retry ``attempt`` (1 = the first retry).

    ``rnd`` in [0, 1) spreads the delay by ±``policy.jitter`` (0.5 = no spread) so many cameras or
    workers do not retry in step; the result never exceeds ``policy.cap_s``. With
    ``policy.outage_share`` and ``outage_s`` (seconds since the first failure), the wait is also at
    most that share of the outage, and never below ``base_s``.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    cap = policy.cap_s
    if policy.outage_share is not None and outage_s is not None:
        cap = min(cap, max(policy.base_s, policy.outage_share * max(0.0, outage_s)))
    raw = min(cap, policy.base_s * 2.0 ** min(attempt - 1, 64))
    spread = raw * (1.0 + policy.jitter * (2.0 * rnd - 1.0))
    return float(max(0.0, min(cap, spread)))


class Backoff:
    """A retry loop's attempt counter: ``next_delay()`` after each failure, ``reset()`` after a success."""

    def __init__(
        self,
        policy: BackoffPolicy,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self._rng = rng
        self._clock = clock
        self.attempt = 0
        self._first_failure: float | None = None

    def next_delay(self) -> float:
        """Count one more failed attempt and return how long to wait before the next try."""
        self.attempt += 1
        now = self._clock()
        if self._first_failure is None:
            self._first_failure = now
        return backoff_delay(self.attempt, self._rng(), self.policy, now - self._first_failure)

    def reset(self) -> None:
        """A success: the next failure waits ``base_s`` again, whatever came before."""
        self.attempt = 0
        self._first_failure = None

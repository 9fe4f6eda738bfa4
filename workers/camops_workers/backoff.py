"""Capped exponential backoff with jitter: the one implementation every retry loop in camops uses.

``backoff_delay(attempt, rnd, policy)`` is the pure rule: ``base * 2**(attempt-1)`` spread by
±``jitter`` (``rnd`` in [0, 1)), never above ``cap``. ``Backoff`` is the small counter a loop
holds: ``next_delay()`` after a failure, ``reset()`` after a success, the random source injected
so tests choose the jitter. Users: the capture worker's reconnects, the uploader's per-item
retries, the storage circuit breaker's open periods, the operator's reconcile retries.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Backoff", "BackoffPolicy", "backoff_delay"]


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """``base_s`` before the first retry, doubling per attempt up to ``cap_s``; ``jitter`` is a fraction (±)."""

    base_s: float = 1.0
    cap_s: float = 300.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s <= 0:
            raise ValueError("a backoff needs a positive base and cap")
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError("jitter is a fraction in [0, 1)")


def backoff_delay(attempt: int, rnd: float, policy: BackoffPolicy) -> float:
    """Seconds to wait before retry ``attempt`` (1 = the first retry).

    ``rnd`` in [0, 1) spreads the delay by ±``policy.jitter`` (0.5 = no spread) so many cameras or
    workers do not retry in step; the result never exceeds ``policy.cap_s``.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    raw = min(policy.cap_s, policy.base_s * 2.0 ** min(attempt - 1, 64))
    spread = raw * (1.0 + policy.jitter * (2.0 * rnd - 1.0))
    return float(max(0.0, min(policy.cap_s, spread)))


class Backoff:
    """A retry loop's attempt counter: ``next_delay()`` after each failure, ``reset()`` after a success."""

    def __init__(self, policy: BackoffPolicy, rng: Callable[[], float] = random.random) -> None:
        self.policy = policy
        self._rng = rng
        self.attempt = 0

    def next_delay(self) -> float:
        """Count one more failed attempt and return how long to wait before the next try."""
        self.attempt += 1
        return backoff_delay(self.attempt, self._rng(), self.policy)

    def reset(self) -> None:
        """A success: the next failure waits ``base_s`` again, whatever came before."""
        self.attempt = 0

"""A circuit breaker around the object store.

closed --(``failure_threshold`` consecutive transient failures)--> open
open --(the open period elapsed)--> half-open: exactly one caller probes
half-open --(probe succeeded)--> closed;  --(probe failed)--> open, period doubled (capped, jittered)

Time is passed in (``now``), so every transition is testable without a clock; the
``on_change`` callback runs once per state change (the log line and the gauge).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Literal

from camops_workers.backoff import Backoff, BackoffPolicy

__all__ = ["BreakerState", "CircuitBreaker"]

BreakerState = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        base_open_s: float = 1.0,
        max_open_s: float = 60.0,
        jitter: float = 0.2,
        rng: Callable[[], float] = random.random,
        on_change: Callable[[BreakerState, BreakerState, str], None] | None = None,
    ) -> None:
        self.failure_threshold = failure_threshold
        #: the open period after each consecutive opening (doubling, capped, jittered)
        self._periods = Backoff(BackoffPolicy(base_s=base_open_s, cap_s=max_open_s, jitter=jitter), rng)
        self._on_change = on_change
        self._lock = threading.Lock()
        self._state: BreakerState = "closed"
        self._failures = 0
        self._reopen_at = 0.0
        self._probe_out = False

    @property
    def state(self) -> BreakerState:
        return self._state

    def _set(self, state: BreakerState, detail: str) -> Callable[[], None] | None:
        old = self._state
        if old == state:
            return None
        self._state = state
        callback = self._on_change
        if callback is None:
            return None
        return lambda: callback(old, state, detail)

    def allow(self, now: float) -> bool:
        """May this caller talk to the store now? In half-open, only the one probe may."""
        notify = None
        with self._lock:
            if self._state == "closed":
                return True
            if self._state == "open":
                if now < self._reopen_at:
                    return False
                notify = self._set("half-open", "probing the store")
                self._probe_out = True
                allowed = True
            else:
                allowed = not self._probe_out
                self._probe_out = True
        if notify:
            notify()
        return allowed

    def release(self) -> None:
        """The probe found nothing to do; let another caller probe."""
        with self._lock:
            self._probe_out = False

    def wait_s(self, now: float) -> float:
        """How long a caller refused by ``allow`` should sleep before asking again."""
        with self._lock:
            if self._state == "open":
                return max(0.0, self._reopen_at - now)
            return 0.0

    def success(self, now: float) -> None:
        """The store answered (an upload succeeded, or failed permanently: it is reachable)."""
        notify = None
        with self._lock:
            self._failures = 0
            self._probe_out = False
            if self._state != "closed":
                self._periods.reset()
                notify = self._set("closed", "store reachable again")
        if notify:
            notify()

    def failure(self, now: float, detail: str = "") -> None:
        """A transient failure (connection refused, timeout, 5xx)."""
        notify = None
        with self._lock:
            self._failures += 1
            self._probe_out = False
            if self._state == "half-open" or (self._state == "closed" and self._failures >= self.failure_threshold):
                period = self._periods.next_delay()
                self._reopen_at = now + period
                notify = self._set("open", f"{detail} (next probe in {period:.1f}s)")
        if notify:
            notify()

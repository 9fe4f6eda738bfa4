"""Circuit breaker for the inference endpoint: a pure state machine, the caller passes ``now``.

closed -> open after ``failure_threshold`` consecutive failures; open -> half-open once the
open period has passed (one trial request); a good trial closes it, a bad one re-opens it
with the open period doubled up to ``max_open_s``. While open no request is sent, so a dead
endpoint costs nothing but counted drops.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass
class CircuitBreaker:
    failure_threshold: int = 5
    open_s: float = 5.0
    max_open_s: float = 120.0
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_at: float = 0.0
    current_open_s: float = 0.0
    trial_in_flight: bool = False

    def allow(self, now: float) -> bool:
        """Whether a request may be sent now (in half-open, only one trial at a time)."""
        if self.state is BreakerState.OPEN:
            if now - self.opened_at < self.current_open_s:
                return False
            self.state = BreakerState.HALF_OPEN
            self.trial_in_flight = False
        if self.state is BreakerState.HALF_OPEN:
            if self.trial_in_flight:
                return False
            self.trial_in_flight = True
        return True

    def record_success(self) -> None:
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.current_open_s = 0.0
        self.trial_in_flight = False

    def record_failure(self, now: float) -> None:
        self.failures += 1
        if self.state is BreakerState.HALF_OPEN:
            self._open(now, min(self.max_open_s, max(self.open_s, self.current_open_s * 2)))
        elif self.state is BreakerState.CLOSED and self.failures >= self.failure_threshold:
            self._open(now, self.open_s)

    def _open(self, now: float, period: float) -> None:
        self.state = BreakerState.OPEN
        self.opened_at = now
        self.current_open_s = period
        self.trial_in_flight = False

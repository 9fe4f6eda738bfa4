"""Rate limiting for log lines that a loop could repeat (overflow, upload errors, ...)."""

from __future__ import annotations

import threading

__all__ = ["RateLimited"]


class RateLimited:
    """At most one log line per ``interval_s`` for a repeating event; says how many were folded in.

    ``limiter(now)`` returns None when the caller must stay quiet, else the number of
    occurrences folded since the last line (0 for the first one).
    """

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._last = -1e18
        self._suppressed = 0
        self._lock = threading.Lock()

    def __call__(self, now: float) -> int | None:
        with self._lock:
            if now - self._last >= self.interval_s:
                self._last = now
                folded, self._suppressed = self._suppressed, 0
                return folded
            self._suppressed += 1
            return None

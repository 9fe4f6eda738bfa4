"""A camera's outage timeline: when its source went away, when it came back, and why (pure, no clock).

``OutageTimeline.away(at, reason)`` opens an outage (a second call while one is open keeps
the first start and reason); ``back(at)`` closes it. The last ``keep`` outages are kept for
``status.capture.outages``; every closed one adds its seconds to ``total_s``.

Announcements (``io.camops.camera.outage`` CloudEvents) are debounced: an outage is announced
as ``disconnected`` only once it has lasted ``debounce_s`` (``due(now)``), and its end as
``reconnected`` only when its start was announced — a 2 s blip is recorded, never announced.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter

__all__ = ["Announcement", "Outage", "OutageMetrics", "OutageTimeline"]


@dataclass(frozen=True, slots=True)
class Outage:
    start: datetime
    reason: str
    end: datetime | None = None
    announced: bool = False

    def seconds(self, now: datetime) -> float:
        return max(0.0, ((self.end or now) - self.start).total_seconds())


@dataclass(frozen=True, slots=True)
class Announcement:
    #: ``disconnected`` or ``reconnected``
    state: str
    outage: Outage
    at: datetime


class OutageTimeline:
    def __init__(self, *, keep: int = 10, debounce_s: float = 10.0) -> None:
        self.keep = keep
        self.debounce_s = debounce_s
        self._closed: deque[Outage] = deque(maxlen=keep)
        self.open: Outage | None = None
        self.total_s = 0.0
        self.count = 0

    def away(self, at: datetime, reason: str) -> None:
        """The source stopped delivering at ``at`` (kept if an outage is already open)."""
        if self.open is None:
            self.open = Outage(at, reason)
            self.count += 1

    def due(self, now: datetime) -> Announcement | None:
        """``disconnected`` once the open outage has lasted the debounce time (once per outage)."""
        outage = self.open
        if outage is None or outage.announced or outage.seconds(now) < self.debounce_s:
            return None
        self.open = replace(outage, announced=True)
        return Announcement("disconnected", self.open, now)

    def back(self, at: datetime) -> tuple[Outage | None, Announcement | None]:
        """The source delivers again: the closed outage, and ``reconnected`` if its start was announced."""
        outage = self.open
        if outage is None:
            return None, None
        closed = replace(outage, end=max(at, outage.start))
        self.open = None
        self._closed.append(closed)
        self.total_s += closed.seconds(at)
        return closed, (Announcement("reconnected", closed, at) if outage.announced else None)

    def recent(self) -> list[Outage]:
        """The last ``keep`` outages, oldest first, the open one last."""
        items = [*self._closed, *([self.open] if self.open is not None else [])]
        return items[-self.keep :]

    def total_seconds(self, now: datetime) -> float:
        """Seconds away so far, the open outage included."""
        return self.total_s + (self.open.seconds(now) if self.open is not None else 0.0)


class OutageMetrics:
    """``camops_capture_outages_total`` and ``camops_capture_outage_seconds_total`` per camera."""

    def __init__(self, camera: str, registry: CollectorRegistry) -> None:
        self.outages = Counter(
            "camops_capture_outages", "Times the source went away", ["camera"], registry=registry
        ).labels(camera)
        self.seconds = Counter(
            "camops_capture_outage_seconds",
            "Seconds the source was away (counted when it is back)",
            ["camera"],
            registry=registry,
        ).labels(camera)

"""One event sink: a bounded outbox and the thread that empties it in order, retrying with backoff.

``offer`` runs on the capture thread: O(1), never blocks; when the outbox is full the oldest
event is dropped and counted. Delivery keeps per-camera order: one sender per sink, and an
event is retried (capped exponential backoff) until delivered, rejected, or shutdown.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from cloudevents.core.v1.event import CloudEvent

from camops_workers.analysis.buffer import DropOldestBuffer
from camops_workers.backoff import Backoff, BackoffPolicy
from camops_workers.events import metrics
from camops_workers.events.build import PendingEvent, to_cloudevent

__all__ = ["Delivery", "EventSink", "SinkStats"]

log = logging.getLogger("camops.events")

#: between retries of one event: 0.2 s doubling to 10 s (jittered: many cameras' sinks do not retry in step)
_RETRY = BackoffPolicy(base_s=0.2, cap_s=10.0, jitter=0.2)


class Delivery(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # transient: the sink is down or busy
    REJECTED = "rejected"  # permanent for this event: retrying will not help


@dataclass(frozen=True)
class SinkStats:
    kind: str
    published: int
    dropped: dict[str, int]
    outbox: int
    retries: int
    last_error: str | None


class EventSink(ABC):
    """Base of the webhook and NATS sinks."""

    kind = "sink"

    def __init__(self, *, camera: str, source: str, outbox_size: int) -> None:
        self.camera = camera
        self.source = source
        self._outbox: DropOldestBuffer[PendingEvent] = DropOldestBuffer(outbox_size)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._published = 0
        self._dropped: Counter[str] = Counter()
        self._retries = 0
        self._last_error: str | None = None
        self._m_outbox = metrics.OUTBOX.labels(camera, self.kind)
        self._thread = threading.Thread(target=self._run, name=f"events-{self.kind}-{camera}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def offer(self, event: PendingEvent) -> None:
        """Queue ``event`` (capture thread): never blocks; the oldest queued event goes when full."""
        if self._outbox.put(event) is not None:
            self._count_drop("outbox_full")

    def stats(self) -> SinkStats:
        with self._lock:
            return SinkStats(
                self.kind, self._published, dict(self._dropped), len(self._outbox), self._retries, self._last_error
            )

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued for up to ``timeout`` seconds, then stop; the rest counts as dropped."""
        deadline = time.monotonic() + timeout
        while len(self._outbox) and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.02)
        self._stop.set()
        self._outbox.close()
        self._thread.join(max(0.1, deadline - time.monotonic()))
        for _ in self._outbox.drain():
            self._count_drop("shutdown")
        self._close_transport()

    # -- implemented by each sink ---------------------------------------------------------

    @abstractmethod
    def deliver(self, event: CloudEvent, pending: PendingEvent) -> tuple[Delivery, str | None]:
        """Send one event; return how it went and a redacted error."""

    @abstractmethod
    def _close_transport(self) -> None:
        """Release connections (after the sender stopped)."""

    def _run(self) -> None:
        """The sender loop: one event at a time, in outbox order."""
        while not self._stop.is_set():
            pending = self._outbox.get(timeout=0.5)
            self._m_outbox.set(len(self._outbox))
            if pending is not None:
                self._send(pending)

    def _send(self, pending: PendingEvent) -> None:
        event = to_cloudevent(pending, self.source)
        backoff = Backoff(_RETRY)
        while True:
            try:
                result, error = self.deliver(event, pending)
            except Exception as exc:  # noqa: BLE001 - a sink bug must not kill the sender; counted and said
                result, error = Delivery.RETRY, f"{type(exc).__name__}: {exc}"
            if result is Delivery.DELIVERED:
                metrics.PUBLISHED.labels(self.camera, self.kind, pending.type).inc()
                with self._lock:
                    self._published += 1
                if self._last_error is not None:
                    log.info("camera=%s event=events_sink_recovered sink=%s", self.camera, self.kind)
                    self._last_error = None
                return
            if result is Delivery.REJECTED:
                self._count_drop("rejected")
                self._note_error(error)
                return
            metrics.RETRIES.labels(self.camera, self.kind).inc()
            with self._lock:
                self._retries += 1
            self._note_error(error)
            if self._stop.wait(backoff.next_delay()):
                self._count_drop("shutdown")
                return

    def _count_drop(self, reason: str) -> None:
        metrics.DROPPED.labels(self.camera, self.kind, reason).inc()
        with self._lock:
            self._dropped[reason] += 1

    def _note_error(self, error: str | None) -> None:
        with self._lock:
            changed = error != self._last_error
            self._last_error = error
        if changed:  # one line per new error, not one per retry
            log.warning("camera=%s event=events_delivery_failed sink=%s error=%s", self.camera, self.kind, error)

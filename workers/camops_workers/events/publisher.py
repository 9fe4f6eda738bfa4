"""The events listener: turns captures, state changes and analysis answers into CloudEvents for each sink.

Every method runs on its caller's thread (capture or analysis) and returns at once: it
stamps a per-worker sequence number and offers the event to each sink's bounded outbox.

Queue overflow is not a source state the capture worker reports, so the publisher watches the
durable queue's drop counter itself (every ``overflow_poll_s``) and publishes one
``io.camops.camera.state`` event with state ``overflow`` when an episode of drops begins.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from camops_workers.analysis.listener import AnalysisResult
from camops_workers.contract import EventsConfig
from camops_workers.events.build import (
    PendingEvent,
    analysis_event,
    capture_event,
    default_source,
    outage_event,
    picture_event,
    state_event,
)
from camops_workers.events.sink import EventSink, SinkStats
from camops_workers.items import Capture
from camops_workers.outages import Announcement
from camops_workers.picture import Verdict

__all__ = ["EventPublisher", "build_sinks"]


def build_sinks(camera: str, namespace: str, config: EventsConfig) -> list[EventSink]:
    """The sinks ``config`` names (not started)."""
    from camops_workers.events.nats_sink import NatsSink
    from camops_workers.events.webhook import WebhookSink

    source = config.source or default_source(namespace, camera)
    sinks: list[EventSink] = []
    if config.webhook is not None:
        sinks.append(WebhookSink(camera=camera, source=source, outbox_size=config.outbox_size, config=config.webhook))
    if config.nats is not None:
        sinks.append(
            NatsSink(
                camera=camera, namespace=namespace, source=source, outbox_size=config.outbox_size, config=config.nats
            )
        )
    return sinks


class EventPublisher:
    """A ``CaptureListener`` publishing ``io.camops.*`` CloudEvents; also receives analysis answers."""

    def __init__(
        self,
        *,
        camera: str,
        namespace: str,
        config: EventsConfig,
        sinks: Sequence[EventSink],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        queue_dropped: Callable[[], int] | None = None,
        overflow_poll_s: float = 2.0,
    ) -> None:
        self.camera = camera
        self.namespace = namespace
        self.types = frozenset(config.types)
        self._sinks = list(sinks)
        self._clock = clock
        self._lock = threading.Lock()
        self._sequence = 0
        self._stop = threading.Event()
        for sink in self._sinks:
            sink.start()
        self._watcher: threading.Thread | None = None
        if queue_dropped is not None:
            self._watcher = threading.Thread(
                target=self._watch_overflow,
                args=(queue_dropped, overflow_poll_s),
                name=f"events-overflow-{camera}",
                daemon=True,
            )
            self._watcher.start()

    @classmethod
    def from_config(
        cls, camera: str, namespace: str, config: EventsConfig, queue_dropped: Callable[[], int] | None = None
    ) -> EventPublisher:
        sinks = build_sinks(camera, namespace, config)
        return cls(camera=camera, namespace=namespace, config=config, sinks=sinks, queue_dropped=queue_dropped)

    def _watch_overflow(self, queue_dropped: Callable[[], int], poll_s: float) -> None:
        last: int | None = None
        overflowing = False
        while not self._stop.wait(poll_s):
            try:
                dropped = queue_dropped()
            except Exception:  # noqa: BLE001 - the queue is closing; nothing more to watch
                return
            growing = last is not None and dropped > last
            if growing and not overflowing:
                detail = f"the offline queue is full and dropped {dropped - (last or 0)} items"
                self.state_changed(self.camera, "overflow", detail)
            overflowing, last = growing, dropped

    def captured(self, capture: Capture) -> None:
        event = capture_event(capture, self.namespace)
        if event is not None:
            self._offer(event)

    def state_changed(self, camera: str, state: str, detail: str) -> None:
        self._offer(state_event(camera, self.namespace, state, detail, self._clock()))

    def outage_changed(self, camera: str, announcement: Announcement) -> None:
        self._offer(outage_event(camera, self.namespace, announcement))

    def picture_changed(self, camera: str, verdict: Verdict) -> None:
        event = picture_event(camera, self.namespace, verdict)
        if event is not None:
            self._offer(event)

    def analysis_result(self, result: AnalysisResult) -> None:
        self._offer(analysis_event(result, self.namespace))

    def _offer(self, event: PendingEvent) -> None:
        if event.type not in self.types:
            return
        with self._lock:  # the sequence and the outbox order agree across capture and analysis threads
            self._sequence += 1
            numbered = PendingEvent(event.id, event.type, event.subject, event.time, event.data, self._sequence)
            for sink in self._sinks:
                sink.offer(numbered)

    def stats(self) -> list[SinkStats]:
        return [sink.stats() for sink in self._sinks]

    def status_fields(self) -> dict[str, object]:
        """Fields for the worker's ``status.capture`` report."""
        return {"eventsDropped": sum(sum(s.dropped.values()) for s in self.stats())}

    def close(self, timeout: float = 5.0) -> None:
        """Flush each outbox for up to ``timeout`` seconds in total, then stop the sinks."""
        self._stop.set()
        if self._watcher is not None:
            with contextlib.suppress(RuntimeError):
                self._watcher.join(1.0)
        share = timeout / max(1, len(self._sinks))
        for sink in self._sinks:
            sink.close(share)

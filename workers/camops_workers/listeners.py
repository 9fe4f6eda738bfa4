"""Build the capture listeners (analysis hand-off, event publishing) a worker config asks for."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from camops_workers.contract import WorkerConfig
from camops_workers.items import CaptureListener, CaptureSink

__all__ = ["build_listeners", "close_listeners", "listener_status"]


def build_listeners(config: WorkerConfig, sink: CaptureSink | None = None) -> list[CaptureListener]:
    """The listeners for ``config``; each owns its threads and is closed through ``close()`` if it has one.

    ``sink`` is the worker's durable queue: analysis answers are stored through it as
    ``<snapshot key>.json`` items. Without a sink, answers are published as events only.
    Threads start here; call ``close_listeners`` on shutdown.
    """
    listeners: list[CaptureListener] = []
    publisher = None  # first in the list: a snapshot's event is offered before its analysis can answer
    if config.events is not None and (config.events.webhook is not None or config.events.nats is not None):
        from camops_workers.events.publisher import EventPublisher

        publisher = EventPublisher.from_config(
            config.camera, config.namespace, config.events, queue_dropped=_queue_dropped(sink)
        )
        listeners.append(publisher)
    if config.analysis is not None:
        from camops_workers.analysis.listener import AnalysisListener

        listeners.append(
            AnalysisListener(
                camera=config.camera,
                namespace=config.namespace,
                config=config.analysis,
                sink=sink,
                on_result=publisher.analysis_result if publisher is not None else None,
            )
        )
    return listeners


def _queue_dropped(sink: CaptureSink | None) -> Callable[[], int] | None:
    """The durable queue's drop counter (for overflow events), when the sink keeps one."""
    stats = getattr(sink, "stats", None)
    if not callable(stats):
        return None
    return lambda: int(stats().dropped)


def listener_status(listeners: Iterable[CaptureListener]) -> dict[str, Any]:
    """Fields listeners add to ``status.capture``: ``analysisReachable``, ``analysisDropped``, ``eventsDropped``."""
    fields: dict[str, Any] = {}
    for listener in listeners:
        status_fields = getattr(listener, "status_fields", None)
        if callable(status_fields):
            fields.update(status_fields())
    return fields


def close_listeners(listeners: Iterable[CaptureListener], timeout: float = 5.0) -> None:
    """Stop each listener's threads, last built first (analysis before events: its last answers get published)."""
    for listener in reversed(list(listeners)):
        close = getattr(listener, "close", None)
        if callable(close):
            close(timeout)

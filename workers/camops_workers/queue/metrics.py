"""Prometheus metrics of the durable queue and the uploader pool (default registry).

Labels carry camera names, queue folders, results and short reasons — never
endpoints with credentials, keys or error texts. Queue depth, bytes and oldest age
are read from each open queue when scraped, so they are right across processes
(``camops drain`` and a worker on one queue) without a background updater.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from typing import Protocol

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = [
    "BREAKER_STATE",
    "COMMITS",
    "COMMITTED_ITEMS",
    "DROPPED",
    "EXPIRED",
    "PUT_ERRORS",
    "UPLOADS",
    "UPLOAD_BYTES",
    "UPLOAD_SECONDS",
    "register_queue",
    "set_breaker_state",
]

UPLOADS = Counter(
    "camops_uploads",
    "Upload attempts by camera, result (ok, transient, permanent) and reason",
    ["camera", "result", "reason"],
)
UPLOAD_SECONDS = Histogram(
    "camops_upload_seconds",
    "Time to upload one queued item (all its keys)",
    ["camera"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
UPLOAD_BYTES = Counter("camops_upload_bytes", "Bytes uploaded from the queue", ["camera"])
DROPPED = Counter(
    "camops_queue_dropped",
    "Items lost by reason: dropped to make room (dropOldest), refused (rejectNew, volumeFull), payload_missing",
    ["queue", "reason"],
)
COMMITS = Counter(
    "camops_queue_commits", "Group commits of the queue (one folder fsync and one WAL fsync each)", ["queue"]
)
COMMITTED_ITEMS = Counter(
    "camops_queue_committed_items", "Items made durable by group commits (÷ commits = items per commit)", ["queue"]
)
EXPIRED = Counter(
    "camops_queue_expired", "Items removed unuploaded because they outlived the queue's max age", ["queue"]
)
PUT_ERRORS = Counter(
    "camops_queue_put_errors",
    "Captures the queue could not store for an I/O error, by errno (a full volume counts in camops_queue_dropped)",
    ["queue", "reason"],
)
BREAKER_STATE = Gauge(
    "camops_storage_breaker_state",
    "1 for the storage circuit breaker's current state (closed, open, half-open), 0 for the others",
    ["queue", "state"],
)
_STATES = ("closed", "open", "half-open")


def set_breaker_state(queue: str, state: str) -> None:
    for name in _STATES:
        BREAKER_STATE.labels(queue=queue, state=name).set(1.0 if name == state else 0.0)


class _Bounds(Protocol):
    @property
    def max_bytes(self) -> int: ...
    @property
    def max_items(self) -> int: ...


class _StatsSource(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def limits(self) -> _Bounds: ...

    def gauges(self) -> tuple[int, int, float | None, int] | None:
        """(depth, bytes, oldest age in seconds or None, failed), or None when closed."""
        ...


class _QueueCollector(Collector):
    def __init__(self) -> None:
        self._queues: weakref.WeakSet[_StatsSource] = weakref.WeakSet()
        self._lock = threading.Lock()

    def add(self, queue: _StatsSource) -> None:
        with self._lock:
            self._queues.add(queue)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "camops_queue_depth", "Items waiting in the queue (failed included)", labels=["queue"]
        )
        size = GaugeMetricFamily("camops_queue_bytes", "Payload bytes waiting in the queue", labels=["queue"])
        oldest = GaugeMetricFamily(
            "camops_queue_oldest_age_seconds", "Age of the oldest waiting capture (0 when empty)", labels=["queue"]
        )
        failed = GaugeMetricFamily(
            "camops_queue_failed",
            "Items parked as failed (permanent storage error), waiting for a retry by hand",
            labels=["queue"],
        )
        max_bytes = GaugeMetricFamily(
            "camops_queue_max_bytes", "The queue's byte bound (spec.offlineQueue.maxBytes)", labels=["queue"]
        )
        max_items = GaugeMetricFamily("camops_queue_max_items", "The queue's item bound", labels=["queue"])
        with self._lock:
            queues = list(self._queues)
        for queue in queues:
            values = queue.gauges()
            if values is None:
                continue
            d, b, age, f = values
            depth.add_metric([queue.name], d)
            size.add_metric([queue.name], b)
            oldest.add_metric([queue.name], age or 0.0)
            failed.add_metric([queue.name], f)
            max_bytes.add_metric([queue.name], queue.limits.max_bytes)
            max_items.add_metric([queue.name], queue.limits.max_items)
        yield from (depth, size, oldest, failed, max_bytes, max_items)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


_COLLECTOR = _QueueCollector()
REGISTRY.register(_COLLECTOR)


def register_queue(queue: _StatsSource) -> None:
    """Report ``queue``'s gauges on every scrape for as long as it lives."""
    _COLLECTOR.add(queue)

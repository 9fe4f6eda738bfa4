"""Prometheus metrics of event publishing (labels: camera, sink kind, event type or drop reason)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

__all__ = ["DROPPED", "OUTBOX", "PUBLISHED", "RETRIES"]

PUBLISHED = Counter("camops_events_published_total", "CloudEvents delivered to a sink.", ["camera", "sink", "type"])
DROPPED = Counter(
    "camops_events_dropped_total",
    "CloudEvents given up: outbox_full (the sink is behind), rejected (the sink answered 4xx), shutdown.",
    ["camera", "sink", "reason"],
)
RETRIES = Counter("camops_events_delivery_retries_total", "Failed deliveries that will be retried.", ["camera", "sink"])
OUTBOX = Gauge("camops_events_outbox_depth", "CloudEvents waiting in a sink's outbox.", ["camera", "sink"])

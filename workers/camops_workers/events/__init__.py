"""CloudEvents about what a worker captured, published to a webhook and/or NATS from bounded outboxes."""

from camops_workers.events.build import (
    ANALYSIS_RESULT,
    CAMERA_STATE,
    SEGMENT_CLOSED,
    SNAPSHOT_STORED,
    PendingEvent,
    to_cloudevent,
)
from camops_workers.events.publisher import EventPublisher, build_sinks
from camops_workers.events.sink import Delivery, EventSink, SinkStats

__all__ = [
    "ANALYSIS_RESULT",
    "CAMERA_STATE",
    "SEGMENT_CLOSED",
    "SNAPSHOT_STORED",
    "Delivery",
    "EventPublisher",
    "EventSink",
    "PendingEvent",
    "SinkStats",
    "build_sinks",
    "to_cloudevent",
]

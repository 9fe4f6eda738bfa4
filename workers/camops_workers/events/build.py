"""What each event says: pure functions from captures, state changes and answers to CloudEvents.

Types (``type`` attribute), each with ``source`` ``/camops/<namespace>/<camera>`` (or the
configured source), ``subject`` the object key (or the state), ``time`` the capture time,
a ``sequence`` extension (per worker, zero-padded so it also sorts as text) and JSON data:

- ``io.camops.snapshot.stored``: a snapshot is durable in the worker's queue and will be at ``key``.
- ``io.camops.segment.closed``: a video segment was closed and queued for ``key``.
- ``io.camops.analysis.result``: the inference endpoint answered for the snapshot at ``key``.
- ``io.camops.camera.state``: the source state changed (connected, disconnected, backoff,
  overflow, ...), with a redacted ``detail``.
- ``io.camops.camera.outage``: the source has been away for the debounce time (``disconnected``)
  or is back after such an outage (``reconnected``), with start, end, seconds and reason; shorter
  blips are only recorded in ``status.capture.outages``.
- ``io.camops.camera.picture``: the picture's health changed (Healthy, Frozen, Black, Uniform,
  Blurred, SceneChanged), with the previous state, since when, a message and the measures.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloudevents.core.v1.event import CloudEvent

from camops_workers.analysis.listener import AnalysisResult
from camops_workers.analysis.request import format_time
from camops_workers.contract import EventType
from camops_workers.items import Capture, ItemKind
from camops_workers.outages import Announcement
from camops_workers.picture import Verdict
from camops_workers.redact import redact

__all__ = [
    "ANALYSIS_RESULT",
    "CAMERA_OUTAGE",
    "CAMERA_PICTURE",
    "CAMERA_STATE",
    "MAX_INLINE_RESULT_BYTES",
    "SEGMENT_CLOSED",
    "SNAPSHOT_STORED",
    "PendingEvent",
    "analysis_event",
    "capture_event",
    "default_source",
    "outage_event",
    "picture_event",
    "state_event",
    "to_cloudevent",
]

SNAPSHOT_STORED: EventType = "io.camops.snapshot.stored"
SEGMENT_CLOSED: EventType = "io.camops.segment.closed"
ANALYSIS_RESULT: EventType = "io.camops.analysis.result"
CAMERA_STATE: EventType = "io.camops.camera.state"
CAMERA_PICTURE: EventType = "io.camops.camera.picture"
CAMERA_OUTAGE: EventType = "io.camops.camera.outage"

#: Answers up to this size are carried inside the event; larger ones only by ``resultKey``.
MAX_INLINE_RESULT_BYTES = 64 * 1024


@dataclass(frozen=True)
class PendingEvent:
    """An event waiting in an outbox: cheap to make on the capture thread, rendered by the sink."""

    id: str
    type: EventType
    subject: str | None
    time: datetime
    data: dict[str, Any]
    sequence: int = 0


def default_source(namespace: str, camera: str) -> str:
    return f"/camops/{namespace}/{camera}"


def capture_event(capture: Capture, namespace: str) -> PendingEvent | None:
    """``snapshot.stored`` or ``segment.closed`` for a durable capture; None for other kinds."""
    if capture.kind is ItemKind.SNAPSHOT:
        kind: EventType = SNAPSHOT_STORED
    elif capture.kind is ItemKind.SEGMENT:
        kind = SEGMENT_CLOSED
    else:
        return None
    data: dict[str, Any] = {
        "camera": capture.camera,
        "namespace": namespace,
        "key": capture.key,
        "capturedAt": format_time(capture.captured_at),
        "contentType": capture.content_type,
    }
    if capture.data is not None:
        data["bytes"] = len(capture.data)
    if capture.also_keys:
        data["alsoKeys"] = list(capture.also_keys)
    if capture.metadata:
        data["metadata"] = dict(capture.metadata)
    return PendingEvent(str(uuid.uuid4()), kind, capture.key, capture.captured_at, data)


def state_event(camera: str, namespace: str, state: str, detail: str, now: datetime) -> PendingEvent:
    data = {"camera": camera, "namespace": namespace, "state": state, "detail": redact(detail)}
    return PendingEvent(str(uuid.uuid4()), CAMERA_STATE, state, now, data)


def outage_event(camera: str, namespace: str, announcement: Announcement) -> PendingEvent:
    """``camera.outage``: ``disconnected`` (away for the debounce time) or ``reconnected``."""
    outage = announcement.outage
    data: dict[str, Any] = {
        "camera": camera,
        "namespace": namespace,
        "state": announcement.state,
        "start": format_time(outage.start),
        "seconds": round(outage.seconds(announcement.at), 1),
        "reason": redact(outage.reason),
    }
    if outage.end is not None:
        data["end"] = format_time(outage.end)
    return PendingEvent(str(uuid.uuid4()), CAMERA_OUTAGE, announcement.state, announcement.at, data)


def picture_event(camera: str, namespace: str, verdict: Verdict) -> PendingEvent | None:
    """``camera.picture`` for a verdict that changed the picture's state; None otherwise."""
    change = verdict.transition
    if change is None:
        return None
    data = {
        "camera": camera,
        "namespace": namespace,
        "state": change.state.value,
        "previous": change.previous.value,
        "since": format_time(change.since),
        "message": verdict.message,
        "measures": verdict.measures.as_dict(),
    }
    return PendingEvent(str(uuid.uuid4()), CAMERA_PICTURE, change.state.value, change.at, data)


def analysis_event(result: AnalysisResult, namespace: str) -> PendingEvent:
    data: dict[str, Any] = {
        "camera": result.camera,
        "namespace": namespace,
        "key": result.snapshot_key,
        "resultKey": result.result_key,
        "capturedAt": format_time(result.captured_at),
        "status": result.status,
        "latencyMs": round(result.latency_s * 1000, 1),
    }
    if len(result.body) <= MAX_INLINE_RESULT_BYTES:
        data["result"] = json.loads(result.body)
    else:
        data["resultTruncated"] = True
    return PendingEvent(str(uuid.uuid4()), ANALYSIS_RESULT, result.snapshot_key, result.captured_at, data)


def to_cloudevent(event: PendingEvent, source: str) -> CloudEvent:
    """The CloudEvents v1.0 event (validated by the SDK)."""
    attributes: dict[str, Any] = {
        "id": event.id,
        "source": source,
        "type": event.type,
        "specversion": "1.0",
        "time": event.time,
        "datacontenttype": "application/json",
        "sequence": f"{event.sequence:012d}",
    }
    if event.subject:
        attributes["subject"] = event.subject
    return CloudEvent(attributes, event.data)

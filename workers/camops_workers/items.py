"""What capture hands to the durable queue: one small protocol both sides code against."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol

__all__ = ["Capture", "CaptureListener", "CaptureSink", "ItemKind"]


class ItemKind(StrEnum):
    SNAPSHOT = "snapshot"
    SEGMENT = "segment"
    ANALYSIS = "analysis"
    #: The small copy of the newest snapshot (``latest.thumb.jpg``); never announced to listeners.
    THUMBNAIL = "thumbnail"
    #: A timeline record (picture-state change, outage) as JSON (``camops_workers.timeline``); never announced.
    RECORD = "record"


@dataclass(frozen=True, slots=True)
class Capture:
    """One produced object, not yet durable.

    Exactly one of ``data`` (bytes in memory, e.g. a JPEG) or ``path`` (a finished
    file, e.g. a closed MP4 segment, on the same filesystem as the queue so it can
    be moved in without copying) is set.
    """

    camera: str
    kind: ItemKind
    captured_at: datetime
    key: str
    content_type: str
    data: bytes | None = None
    path: Path | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    #: Also write this payload to these keys (e.g. ``<camera>/latest.jpg``) after ``key``.
    also_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.data is None) == (self.path is None):
            raise ValueError("a Capture carries exactly one of data or path")


class CaptureSink(Protocol):
    """Where captures go. ``put`` returns only once the capture is durable on disk.

    Raises ``OSError`` (ENOSPC included) when it cannot be stored; the caller counts it.
    """

    def put(self, capture: Capture) -> str:
        """Store ``capture`` durably and return its queue item id."""
        ...


class CaptureListener(Protocol):
    """Something that wants to know what a worker captured (analysis hand-off, events).

    Both methods are called on the capture thread and must return at once (never block,
    never raise): a listener queues work for its own thread and drops what it cannot keep.
    """

    def captured(self, capture: Capture) -> None:
        """``capture`` was made durable in the queue (its ``key`` is where it will be stored)."""
        ...

    def state_changed(self, camera: str, state: str, detail: str) -> None:
        """The worker's source state changed (connected, disconnected, backoff, overflow, ...)."""
        ...

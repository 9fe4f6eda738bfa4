"""Captures for queue tests: deterministic keys, random bytes, their sha256 remembered."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from camops_workers.items import Capture, CaptureSink, ItemKind
from camops_workers.storage.keys import latest_key, object_key

T0 = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Batch:
    """What a test put in a queue: key -> sha256 of the bytes."""

    camera: str
    expected: dict[str, str] = field(default_factory=dict)


def capture(
    camera: str, index: int, size: int = 2048, *, latest: bool = False, when: datetime | None = None
) -> Capture:
    moment = when or (T0 + timedelta(milliseconds=10 * index))
    return Capture(
        camera=camera,
        kind=ItemKind.SNAPSHOT,
        captured_at=moment,
        key=object_key("dated", "q", camera, moment, "jpg"),
        content_type="image/jpeg",
        data=os.urandom(size),
        metadata={"source": "test"},
        also_keys=(latest_key("q", camera),) if latest else (),
    )


def fill(queue: CaptureSink, camera: str, count: int, size: int = 2048) -> Batch:
    """Put ``count`` captures into ``queue``."""
    batch = Batch(camera)
    for i in range(count):
        item = capture(camera, i, size)
        assert item.data is not None
        queue.put(item)
        batch.expected[item.key] = hashlib.sha256(item.data).hexdigest()
    return batch

"""Segments a killed worker left half-written, recovered into the queue: at worker start and by ``camops drain``.

A killed worker leaves ``capture-work/<camera>-<start ms>-<pid>-<n>.mp4.part`` on the queue's volume
(``segments.SegmentWriter.recover_leftovers`` cuts it after its last whole fragment). A worker that is
then paused never starts again to recover it, so the drain does the same: both call
``recover_segments``. The object key needs the camera's storage layout and prefix, which the drain
CronJob does not get (it has no contract), so a recording worker notes them beside its segments
(``<camera>.keys.json``) when it starts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from camops_workers.capture.segments import ClosedSegment, SegmentWriter
from camops_workers.contract import StorageConfig
from camops_workers.fsutil import fsync_dir
from camops_workers.items import Capture, ItemKind
from camops_workers.redact import redact
from camops_workers.storage.keys import Layout, object_key

__all__ = ["WORK_DIR", "note_keys", "noted_cameras", "recover_segments", "segment_capture", "store_recovered"]

log = logging.getLogger("camops.capture")

#: the folder under the queue's directory where segments are written until they are handed over
WORK_DIR = "capture-work"
_NOTE = ".keys.json"


def segment_capture(camera: str, storage: StorageConfig, segment: ClosedSegment, started_at: datetime) -> Capture:
    """The queue item of a closed (or recovered) segment that started at ``started_at``."""
    key = object_key(storage.layout, storage.prefix, camera, started_at, "mp4")
    return Capture(
        camera=camera,
        kind=ItemKind.SEGMENT,
        captured_at=started_at,
        key=key,
        content_type="video/mp4",
        path=segment.path,
        metadata={
            "duration": f"{segment.duration_s:.3f}",
            "width": str(segment.width),
            "height": str(segment.height),
            "codec": segment.codec,
        },
    )


def note_keys(work_dir: Path, camera: str, storage: StorageConfig) -> None:
    """Note how ``camera``'s segment keys are made, for a drain that recovers its leftovers."""
    work_dir.mkdir(parents=True, exist_ok=True)
    note = work_dir / f"{camera}{_NOTE}"
    body = json.dumps({"camera": camera, "layout": storage.layout.value, "prefix": storage.prefix})
    with contextlib.suppress(OSError):
        if note.read_text(encoding="utf-8") == body:
            return
    tmp = note.with_suffix(".tmp")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, note)
    fsync_dir(work_dir)


def noted_cameras(work_dir: Path) -> dict[str, StorageConfig]:
    """The cameras noted in ``work_dir`` and their key layout (a storage config holding only that)."""
    found: dict[str, StorageConfig] = {}
    for note in sorted(work_dir.glob(f"*{_NOTE}")):
        try:
            raw = json.loads(note.read_text(encoding="utf-8"))
            camera = str(raw["camera"])
            storage = StorageConfig(kind="local", layout=Layout(raw["layout"]), prefix=str(raw["prefix"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("segment key note unreadable file=%s error=%s", note.name, exc)
            continue
        found[camera] = storage
    return found


def recover_segments(writer: SegmentWriter, store: Callable[[ClosedSegment], object]) -> int:
    """Recover the writer's camera's leftover segments, oldest first, and hand each to ``store``
    (which puts it into the queue and removes its file). Returns how many were recovered."""
    count = 0
    for segment in writer.recover_leftovers():
        log.info("segment recovered camera=%s seconds=%.1f", writer.camera, segment.duration_s)
        store(segment)
        count += 1
    return count


def store_recovered(
    queue_put: Callable[[Capture], object], camera: str, storage: StorageConfig
) -> Callable[[ClosedSegment], object]:
    """A ``store`` for ``recover_segments`` outside a worker (the drain): into the queue, file removed."""

    def store(segment: ClosedSegment) -> None:
        try:
            queue_put(segment_capture(camera, storage, segment, segment.started_at))
        except Exception as exc:  # noqa: BLE001 - a full volume: counted by the queue, the next one may fit
            log.warning("recovered segment not stored camera=%s error=%s", camera, redact(exc))
        finally:
            with contextlib.suppress(OSError):
                segment.path.unlink()  # the queue holds its own copy now (or refused it)

    return store

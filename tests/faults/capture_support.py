"""Shared by the capture fault tests: a worker on a thread, writing into a real durable queue,
with the moment each snapshot was put there, and the share of up-time that has snapshots."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from camops_workers.capture.worker import CaptureWorker
from camops_workers.contract import WorkerConfig
from camops_workers.items import Capture, ItemKind
from camops_workers.queue.durable import DurableQueue

__all__ = ["Stored", "TimedQueue", "WorkerThread", "contract", "coverage", "sessions_of"]


@dataclass(frozen=True)
class Stored:
    key: str
    captured_at: datetime
    #: when the worker handed it to the queue (the put returns once it is on disk)
    put_at: datetime


class TimedQueue:
    """The real durable queue, noting when each snapshot and segment was offered to it."""

    def __init__(self, directory: Path) -> None:
        self.queue = DurableQueue(directory)
        self.snapshots: list[Stored] = []
        self.segments: list[Stored] = []
        self._lock = threading.Lock()

    def put(self, capture: Capture) -> str:
        put_at = datetime.now(UTC)
        item = self.queue.put(capture)
        if capture.kind == ItemKind.SNAPSHOT and "/latest" not in capture.key:
            with self._lock:
                self.snapshots.append(Stored(capture.key, capture.captured_at, put_at))
        if capture.kind == ItemKind.SEGMENT:
            with self._lock:
                self.segments.append(Stored(capture.key, capture.captured_at, put_at))
        return item

    def taken(self) -> list[datetime]:
        with self._lock:
            return sorted(s.captured_at for s in self.snapshots)

    def close(self) -> None:
        self.queue.close()


def contract(tmp_path: Path, url: str, interval_s: float = 1.0, segment_s: float | None = None) -> WorkerConfig:
    """A worker's contract; ``segment_s`` records segments of that length too."""
    recording = {"enabled": True, "segment_duration_s": segment_s} if segment_s else {}
    return WorkerConfig.model_validate(
        {
            "camera": "flappy",
            "source": {"url": url, "connect_timeout_s": 3.0, "stall_timeout_s": 3.0, "session": "persistent"},
            "snapshots": {"interval_s": interval_s, "quality": 70},
            "recording": recording,
            "storage": {"kind": "local", "directory": str(tmp_path / "store")},
            "queue": {"directory": str(tmp_path / "queue")},
        }
    )


class WorkerThread:
    """``CaptureWorker.run`` on a thread, into a ``TimedQueue``."""

    def __init__(self, config: WorkerConfig) -> None:
        self.sink = TimedQueue(Path(config.queue.directory))
        self.worker = CaptureWorker(config, self.sink)
        self.stop_event = threading.Event()
        self._thread = threading.Thread(target=self.worker.run, args=(self.stop_event,), daemon=True)

    def __enter__(self) -> WorkerThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self._thread.join(20)
        self.sink.close()
        assert not self._thread.is_alive(), "the capture thread did not stop"


def coverage(taken: Sequence[datetime], start: datetime, end: datetime, interval_s: float) -> tuple[int, int]:
    """(slots with a snapshot, slots) over the whole ``interval_s`` slots of ``[start, end)``."""
    slots = math.floor((end - start).total_seconds() / interval_s)
    covered = {int((t - start).total_seconds() // interval_s) for t in taken if start <= t < end}
    return len({k for k in covered if k < slots}), slots


class _Restartable(Protocol):
    def start(self) -> object: ...
    def stop(self) -> object: ...


def sessions_of(
    server: _Restartable, count: int, session_s: float, gap_s: float = 1.0
) -> list[tuple[datetime, datetime]]:
    """Let the running server serve ``count`` sessions of ``session_s``, stopped ``gap_s`` between them.

    The server is running when called and stopped on return; each session's (up, down) wall times.
    """
    sessions: list[tuple[datetime, datetime]] = []
    for n in range(count):
        if n:
            server.start()
        up = datetime.now(UTC)
        time.sleep(session_s)
        sessions.append((up, datetime.now(UTC)))
        server.stop()
        time.sleep(gap_s)
    return sessions

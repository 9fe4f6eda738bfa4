"""The console's picture of the fleet: one record per camera, and live changes for open pages.

A feed (the local runner's state, or one watch on Cameras in a cluster) writes records here
from the event loop; every open page holds a subscription and gets each changed tile once.
Outages (a camera turning broken and back) are remembered as the console saw them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from camops_operator.console.tiles import Health, Tile
from camops_workers.contract import StorageConfig

__all__ = ["CameraRecord", "Change", "Fleet", "Outage", "Subscription"]

#: Outages kept per camera (the newest).
MAX_OUTAGES = 20
#: Changes a slow page may fall behind by before it is told to start over (a fresh snapshot).
SUBSCRIBER_BACKLOG = 2000


@dataclass(frozen=True)
class Outage:
    started_at: datetime
    ended_at: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True)
class CameraRecord:
    """A camera as the console knows it: its tile, the details its page shows, where its objects are."""

    tile: Tile
    #: Rows of the camera page's status table: (what, value, detail).
    facts: tuple[tuple[str, str, str], ...] = ()
    storage: StorageConfig | None = None
    #: ``<prefix>/<camera>/`` in that store: every object URL is relative to it.
    prefix: str = ""
    layout: str = "dated"
    #: Outages the console saw (filled in by the fleet).
    outages: tuple[Outage, ...] = ()
    #: Outages the worker reported (``status.capture.outages``), oldest first.
    reported: tuple[Outage, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    """One tile changed (``tile``) or went away (``tile`` None, ``key`` says which)."""

    key: str
    namespace: str
    tile: Tile | None
    version: int = 0


class Subscription:
    """One open page's queue of changes; ``reset`` is set when it fell too far behind."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Change] = asyncio.Queue(SUBSCRIBER_BACKLOG)
        self.reset = asyncio.Event()

    def offer(self, change: Change) -> None:
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            self.reset.set()


class Fleet:
    """Records by ``namespace/name``; thread-unsafe by design: only the event loop writes."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._records: dict[str, CameraRecord] = {}
        self._subscribers: set[Subscription] = set()
        self._clock = clock
        self.synced = asyncio.Event()
        #: bumped on every change; pages say which version they were rendered at
        self.version = 0
        self._changed: dict[str, int] = {}
        self._removed: dict[str, tuple[int, str]] = {}

    def __len__(self) -> int:
        return len(self._records)

    def records(self) -> list[CameraRecord]:
        return list(self._records.values())

    def get(self, namespace: str, name: str) -> CameraRecord | None:
        return self._records.get(f"{namespace}/{name}")

    def tiles(self) -> list[Tile]:
        return [r.tile for r in self._records.values()]

    def _outages(self, previous: CameraRecord | None, tile: Tile) -> tuple[Outage, ...]:
        kept = previous.outages if previous else ()
        was_broken = previous is not None and previous.tile.health is Health.BROKEN
        now_broken = tile.health is Health.BROKEN
        if now_broken and not was_broken and previous is not None:
            return (*kept[-(MAX_OUTAGES - 1) :], Outage(self._clock(), None, tile.message))
        if was_broken and not now_broken and kept and kept[-1].ended_at is None:
            return (*kept[:-1], replace(kept[-1], ended_at=self._clock()))
        return kept

    def upsert(self, record: CameraRecord) -> None:
        key = record.tile.key
        previous = self._records.get(key)
        record = replace(record, outages=self._outages(previous, record.tile))
        self._records[key] = record
        if previous is None or previous.tile != record.tile:
            self._publish(Change(key, record.tile.namespace, record.tile))

    def remove(self, namespace: str, name: str) -> None:
        key = f"{namespace}/{name}"
        if self._records.pop(key, None) is not None:
            self._publish(Change(key, namespace, None))

    def replace_all(self, records: Iterable[CameraRecord]) -> None:
        """Make the fleet exactly ``records`` (a fresh list): upsert each, remove the rest."""
        fresh = {r.tile.key: r for r in records}
        for key in [k for k in self._records if k not in fresh]:
            namespace, _, name = key.partition("/")
            self.remove(namespace, name)
        for record in fresh.values():
            self.upsert(record)
        self.synced.set()

    def _publish(self, change: Change) -> None:
        self.version += 1
        change = replace(change, version=self.version)
        if change.tile is None:
            self._changed.pop(change.key, None)
            self._removed[change.key] = (self.version, change.namespace)
            if len(self._removed) > 10_000:
                self._removed.pop(next(iter(self._removed)))
        else:
            self._removed.pop(change.key, None)
            self._changed[change.key] = self.version
        for sub in self._subscribers:
            sub.offer(change)

    def changes_since(self, version: int) -> list[Change]:
        """What changed after ``version`` (a page rendered then, or an event stream that reconnects)."""
        out = [
            Change(key, self._records[key].tile.namespace, self._records[key].tile, v)
            for key, v in self._changed.items()
            if v > version and key in self._records
        ]
        out += [Change(key, ns, None, v) for key, (v, ns) in self._removed.items() if v > version]
        return sorted(out, key=lambda c: c.version)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        sub = Subscription()
        self._subscribers.add(sub)
        try:
            yield sub
        finally:
            self._subscribers.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

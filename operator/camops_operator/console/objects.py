"""A camera's stored objects for its page: days that have pictures, one day's snapshots,
segments and analysis results. Synchronous (the stores are); the server runs these in threads.

Every key the browser names is relative to the camera's prefix and checked here, so a URL
can only ever reach that camera's own objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from pydantic import BaseModel

from camops_workers.storage.base import ObjectStore, StoredObject
from camops_workers.storage.keys import check_key, key_time

__all__ = ["DayItems", "Segment", "Snapshot", "day_items", "days", "group_day", "object_key_for"]

_MONTH = re.compile(r"^\d{4}-\d{2}/$")
_DAY = re.compile(r"^\d{2}/$")
#: A day's listing is bounded (1 snapshot a second is 86,400 a day; the slider needs no more).
MAX_DAY_OBJECTS = 200_000


class Snapshot(BaseModel):
    key: str
    at: str
    analysis: str | None = None


class Segment(BaseModel):
    key: str
    at: str
    size: int


class DayItems(BaseModel):
    day: str
    snapshots: list[Snapshot]
    segments: list[Segment]
    truncated: bool = False


def object_key_for(prefix: str, relative: str) -> str:
    """The full key of ``relative`` below the camera's ``prefix`` (ValueError when it could leave it)."""
    if not relative or relative.startswith("/") or ".." in relative.split("/"):
        raise ValueError("invalid object name")
    return check_key(f"{prefix}{relative}")


def days(store: ObjectStore, prefix: str, layout: str) -> list[str]:
    """Days with objects, newest first (``YYYY-MM-DD``)."""
    if layout == "dated":
        out: list[str] = []
        for month in store.list_folders(prefix):
            rel_month = month[len(prefix) :]
            if not _MONTH.match(rel_month):
                continue
            for day in store.list_folders(month):
                rel_day = day[len(month) :]
                if _DAY.match(rel_day):
                    out.append(f"{rel_month[:7]}-{rel_day[:2]}")
        return sorted(out, reverse=True)
    if layout == "flat":
        found = {t.date().isoformat() for o in store.list_objects(prefix) if (t := key_time(o.key)) is not None}
        return sorted(found, reverse=True)
    return []


def group_day(objects: Iterable[StoredObject], prefix: str, day: date, *, limit: int = MAX_DAY_OBJECTS) -> DayItems:
    """One day's snapshots (with their analysis JSON) and segments, oldest first; keys relative to ``prefix``."""
    snapshots: dict[str, Snapshot] = {}
    analysis: set[str] = set()
    segments: list[Segment] = []
    truncated = False
    for count, obj in enumerate(objects):
        if count >= limit:
            truncated = True
            break
        when = key_time(obj.key)
        if when is None or when.date() != day:
            continue
        rel = obj.key[len(prefix) :]
        at = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if rel.endswith(".jpg"):
            snapshots[rel] = Snapshot(key=rel, at=at)
        elif rel.endswith(".jpg.json"):
            analysis.add(rel)
        elif rel.endswith(".mp4"):
            segments.append(Segment(key=rel, at=at, size=obj.size))
    for rel in analysis:
        snap = snapshots.get(rel.removesuffix(".json"))
        if snap is not None:
            snapshots[snap.key] = snap.model_copy(update={"analysis": rel})
    ordered = sorted(snapshots.values(), key=lambda s: s.at)
    return DayItems(
        day=day.isoformat(), snapshots=ordered, segments=sorted(segments, key=lambda s: s.at), truncated=truncated
    )


def day_items(store: ObjectStore, prefix: str, layout: str, day: date) -> DayItems:
    """List one day of the camera (its date folder in the dated layout, the whole prefix in flat)."""
    where = f"{prefix}{day:%Y-%m}/{day:%d}/" if layout == "dated" else prefix
    return group_day(store.list_objects(where, recursive=True), prefix, day)

"""How a retention run lists a camera's objects without reading years of history.

For the ``dated`` layout the objects live in ``<camera>/<YYYY-MM>/<DD>/`` folders: the
lister reads the month and day folder names (two small delimiter listings) and lists
objects only in the day folders that start before the cutoff — a 7-day policy that
runs daily lists about one day of objects per camera, however much history is kept.
Other layouts (and quota runs, which need every object's size) list the whole prefix.
A :class:`FolderCount` says how many day folders were read and how many were not
(newer than the cutoff), so a report never looks as if a camera held nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from camops_workers.retention.planner import CameraScope
from camops_workers.storage.base import ObjectStore, StoredObject
from camops_workers.storage.keys import Layout, sanitize_name, sanitize_prefix

__all__ = ["FolderCount", "date_folders", "discover_scopes", "list_camera", "list_sizes"]

_MONTH = re.compile(r"(\d{4})-(\d{2})/")
_DAY = re.compile(r"(\d{2})/")


def _month_start(name: str) -> datetime | None:
    match = _MONTH.fullmatch(name)
    if match is None:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or year < 1:
        return None
    return datetime(year, month, 1, tzinfo=UTC)


def _day_start(month: datetime, name: str) -> datetime | None:
    match = _DAY.fullmatch(name)
    if match is None:
        return None
    try:
        return month.replace(day=int(match.group(1)))
    except ValueError:
        return None


@dataclass
class FolderCount:
    """Day folders a dated listing read, and those it left alone because they are newer than the cutoff."""

    read: int = 0
    skipped: int = 0


def date_folders(store: ObjectStore, key_prefix: str, before: datetime, count: FolderCount | None = None) -> list[str]:
    """Day folders (``<key_prefix>YYYY-MM/DD/``) whose day starts before ``before``, oldest first.

    Folders whose names are not dates are not returned: the planner never deletes
    there anyway, and listing them would defeat the point. ``count`` (when given) adds
    the day folders returned and the newer ones left out (their names only are listed).
    """
    days: list[str] = []
    skipped = 0
    for month_folder in sorted(store.list_folders(key_prefix)):
        if not month_folder.startswith(key_prefix):
            continue
        month = _month_start(month_folder[len(key_prefix) :])
        if month is None:
            continue
        for day_folder in sorted(store.list_folders(month_folder)):
            if not day_folder.startswith(month_folder):
                continue
            day = _day_start(month, day_folder[len(month_folder) :])
            if day is None:
                continue
            if day < before:
                days.append(day_folder)
            else:
                skipped += 1
    if count is not None:
        count.read += len(days)
        count.skipped += skipped
    return days


def list_camera(
    store: ObjectStore, scope: CameraScope, before: datetime | None, count: FolderCount | None = None
) -> Iterator[StoredObject]:
    """The camera's objects a plan needs: those captured before ``before`` (None: all of them).

    ``count`` adds the day folders read and skipped (nothing when the whole prefix is listed).
    """
    base = scope.key_prefix
    if before is None or scope.layout is not Layout.DATED:
        yield from store.list_objects(base, recursive=True)
        return
    for folder in date_folders(store, base, before, count):
        yield from store.list_objects(folder, recursive=True)


def list_sizes(store: ObjectStore, scope: CameraScope, before: datetime | None) -> dict[str, int]:
    """Key -> size of the camera's objects in ``store`` (the archive), listed like ``list_camera``."""
    return {obj.key: obj.size for obj in list_camera(store, scope, before)}


def discover_scopes(store: ObjectStore, prefix: str, layout: Layout, cameras: Sequence[str] = ()) -> list[CameraScope]:
    """The cameras stored below ``prefix``: its folders, or ``prefix`` itself when it is one camera's folder.

    ``cameras`` restricts the result to those names (they need not have objects yet).
    A prefix whose folders are months (``YYYY-MM/``) is a camera's own folder, so
    ``--prefix site-a/door`` means camera ``door`` under ``site-a``.
    """
    clean = sanitize_prefix(prefix)
    if cameras:
        return [CameraScope(sanitize_name(name), clean, layout) for name in cameras]
    base = f"{clean}/" if clean else ""
    names: list[str] = []
    for folder in store.list_folders(base):
        name = folder[len(base) :].rstrip("/")
        if _MONTH.fullmatch(f"{name}/") and clean:
            parent, _, own = clean.rpartition("/")
            return [CameraScope(sanitize_name(own), parent, layout)]
        try:
            names.append(sanitize_name(name))
        except ValueError:
            continue
    return [CameraScope(name, clean, layout) for name in sorted(names)]

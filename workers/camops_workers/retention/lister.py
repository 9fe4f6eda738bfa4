"""How a retention run lists a camera's objects without reading years of history.

For the ``dated`` layout the objects live in ``<camera>/<YYYY-MM>/<DD>/`` folders: the
lister reads the month and day folder names (two small delimiter listings) and lists
objects only in the day folders that start before the cutoff — a 7-day policy that
runs daily lists about one day of objects per camera, however much history is kept.
Other layouts (and quota runs, which need every object's size) list the whole prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from camops_workers.retention.planner import CameraScope
from camops_workers.storage.base import ObjectStore, StoredObject
from camops_workers.storage.keys import Layout, sanitize_name, sanitize_prefix

__all__ = ["date_folders", "discover_scopes", "list_camera", "list_sizes"]

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


def date_folders(store: ObjectStore, key_prefix: str, before: datetime) -> list[str]:
    """Day folders (``<key_prefix>YYYY-MM/DD/``) whose day starts before ``before``, oldest first.

    Folders whose names are not dates are not returned: the planner never deletes
    there anyway, and listing them would defeat the point.
    """
    days: list[str] = []
    for month_folder in sorted(store.list_folders(key_prefix)):
        if not month_folder.startswith(key_prefix):
            continue
        month = _month_start(month_folder[len(key_prefix) :])
        if month is None or month >= before:
            continue
        for day_folder in sorted(store.list_folders(month_folder)):
            if not day_folder.startswith(month_folder):
                continue
            day = _day_start(month, day_folder[len(month_folder) :])
            if day is not None and day < before:
                days.append(day_folder)
    return days


def list_camera(store: ObjectStore, scope: CameraScope, before: datetime | None) -> Iterator[StoredObject]:
    """The camera's objects a plan needs: those captured before ``before`` (None: all of them)."""
    base = scope.key_prefix
    if before is None or scope.layout is not Layout.DATED:
        yield from store.list_objects(base, recursive=True)
        return
    for folder in date_folders(store, base, before):
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

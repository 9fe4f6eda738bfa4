"""What a bucket (or folder) stores: totals, per camera, and by age. Pure aggregation.

Ages come from ``LastModified`` and fall into four disjoint bins: ``today`` (since
midnight UTC), ``7d`` (the rest of the last 7 days), ``30d`` (the rest of the last
30 days) and ``older``. The camera is the first key segment below the prefix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from camops_workers.storage.base import StoredObject
from camops_workers.units import format_bytes

__all__ = ["AGE_BINS", "Bin", "CameraStats", "StoreStats", "render_table", "summarize"]

#: Age bins in display order.
AGE_BINS = ("today", "7d", "30d", "older")
#: Objects directly below the prefix (no camera folder) are counted under this name.
ROOT_NAME = "(no camera)"


@dataclass
class Bin:
    objects: int = 0
    bytes: int = 0

    def add(self, size: int) -> None:
        self.objects += 1
        self.bytes += size


@dataclass
class CameraStats:
    camera: str
    total: Bin = field(default_factory=Bin)
    ages: dict[str, Bin] = field(default_factory=lambda: {name: Bin() for name in AGE_BINS})
    oldest: datetime | None = None
    newest: datetime | None = None


@dataclass
class StoreStats:
    where: str
    prefix: str
    now: datetime
    total: Bin = field(default_factory=Bin)
    ages: dict[str, Bin] = field(default_factory=lambda: {name: Bin() for name in AGE_BINS})
    cameras: dict[str, CameraStats] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        def stamp(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment is not None else None

        return {
            "where": self.where,
            "prefix": self.prefix,
            "now": self.now.isoformat(),
            "objects": self.total.objects,
            "bytes": self.total.bytes,
            "byAge": {name: {"objects": b.objects, "bytes": b.bytes} for name, b in self.ages.items()},
            "cameras": {
                name: {
                    "objects": cam.total.objects,
                    "bytes": cam.total.bytes,
                    "oldest": stamp(cam.oldest),
                    "newest": stamp(cam.newest),
                    "byAge": {n: {"objects": b.objects, "bytes": b.bytes} for n, b in cam.ages.items()},
                }
                for name, cam in sorted(self.cameras.items())
            },
        }


def summarize(objects: Iterable[StoredObject], prefix: str, now: datetime, where: str = "") -> StoreStats:
    """Aggregate a listing of everything below ``prefix`` (``""`` or ending in '/')."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = now - timedelta(days=7)
    month = now - timedelta(days=30)
    stats = StoreStats(where=where, prefix=prefix, now=now)
    start = len(prefix)
    for obj in objects:
        if not obj.key.startswith(prefix):
            continue
        rel = obj.key[start:]
        camera = rel.split("/", 1)[0] if "/" in rel else ROOT_NAME
        cam = stats.cameras.get(camera)
        if cam is None:
            cam = stats.cameras[camera] = CameraStats(camera)
        modified = obj.last_modified
        if modified >= midnight:
            age = "today"
        elif modified >= week:
            age = "7d"
        elif modified >= month:
            age = "30d"
        else:
            age = "older"
        stats.total.add(obj.size)
        stats.ages[age].add(obj.size)
        cam.total.add(obj.size)
        cam.ages[age].add(obj.size)
        if cam.oldest is None or modified < cam.oldest:
            cam.oldest = modified
        if cam.newest is None or modified > cam.newest:
            cam.newest = modified
    return stats


def render_table(stats: StoreStats) -> str:
    """A readable table: one row per camera, then the totals."""
    headers = ["camera", "objects", "size", *(f"{name}" for name in AGE_BINS), "oldest"]

    def row(name: str, total: Bin, ages: dict[str, Bin], oldest: datetime | None) -> list[str]:
        cells = [name, f"{total.objects:,}", format_bytes(total.bytes)]
        cells += [f"{ages[n].objects:,} ({format_bytes(ages[n].bytes)})" for n in AGE_BINS]
        cells.append(f"{oldest:%Y-%m-%d}" if oldest else "-")
        return cells

    rows = [row(c.camera, c.total, c.ages, c.oldest) for _, c in sorted(stats.cameras.items())]
    oldest = min((c.oldest for c in stats.cameras.values() if c.oldest), default=None)
    rows.append(row("TOTAL", stats.total, stats.ages, oldest))
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    title = f"{stats.where or 'store'}  prefix={stats.prefix or '/'}  at {stats.now:%Y-%m-%d %H:%M} UTC"
    lines = [title, fmt(headers), fmt(["-" * w for w in widths])]
    lines += [fmt(r) for r in rows[:-1]]
    lines.append(fmt(["-" * w for w in widths]))
    lines.append(fmt(rows[-1]))
    lines.append("age bins by LastModified: today = since 00:00 UTC, 7d/30d = rest of the last 7/30 days")
    return "\n".join(lines)

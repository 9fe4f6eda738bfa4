"""Gaps in a camera's snapshots, per camera and day, from the keys alone (pure).

Snapshot keys (``dated`` or ``flat`` layout, ``.jpg``) carry their capture time. Two
consecutive snapshots further apart than the gap threshold leave a gap: the camera was away
(or paused) for the time between them minus one usual spacing. The threshold is ``min_gap_s``
or, by default, five times the camera's median spacing and at least a minute. A gap belongs to
the day it starts; the time before a day's first snapshot and after its last is not counted.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from camops_workers.retention.stats import ROOT_NAME
from camops_workers.storage.base import StoredObject
from camops_workers.storage.keys import key_time
from camops_workers.texttable import render_table
from camops_workers.units import format_duration

__all__ = ["DayGaps", "render_gaps", "snapshot_gaps"]

MIN_AUTO_GAP_S = 60.0


@dataclass(frozen=True)
class DayGaps:
    camera: str
    day: date
    snapshots: int
    first: datetime
    last: datetime
    gaps: int
    #: Seconds lost: each gap's length minus one usual spacing.
    lost_s: float
    longest_s: float

    def to_dict(self) -> dict[str, object]:
        return {
            "camera": self.camera,
            "day": self.day.isoformat(),
            "snapshots": self.snapshots,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "gaps": self.gaps,
            "lostSeconds": round(self.lost_s, 1),
            "longestSeconds": round(self.longest_s, 1),
        }


def _snapshot_times(objects: Iterable[StoredObject], prefix: str) -> dict[str, list[datetime]]:
    times: dict[str, list[datetime]] = {}
    for obj in objects:
        if not obj.key.startswith(prefix) or not obj.key.endswith(".jpg"):
            continue
        moment = key_time(obj.key)
        if moment is None:
            continue
        rel = obj.key[len(prefix) :]
        camera = rel.split("/", 1)[0] if "/" in rel else ROOT_NAME
        times.setdefault(camera, []).append(moment)
    return times


def snapshot_gaps(objects: Iterable[StoredObject], prefix: str, *, min_gap_s: float | None = None) -> list[DayGaps]:
    """One row per camera and day that has snapshots, sorted by camera then day."""
    rows: list[DayGaps] = []
    for camera, captured in sorted(_snapshot_times(objects, prefix).items()):
        times = sorted(set(captured))
        spacings = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        usual = statistics.median(spacings) if spacings else 0.0
        threshold = min_gap_s if min_gap_s is not None else max(MIN_AUTO_GAP_S, 5 * usual)
        by_day: dict[date, list[int]] = {}
        for index, moment in enumerate(times):
            by_day.setdefault(moment.date(), []).append(index)
        for day, indices in sorted(by_day.items()):
            gaps, lost, longest = 0, 0.0, 0.0
            for index in indices:
                if index + 1 >= len(times):
                    continue
                spacing = (times[index + 1] - times[index]).total_seconds()
                if spacing > threshold:
                    gaps += 1
                    lost += spacing - usual
                    longest = max(longest, spacing)
            rows.append(DayGaps(camera, day, len(indices), times[indices[0]], times[indices[-1]], gaps, lost, longest))
    return rows


def render_gaps(rows: list[DayGaps]) -> str:
    """A table: camera, day, snapshots, first and last, gaps, time lost, longest gap."""
    headers = ["camera", "day", "snapshots", "first", "last", "gaps", "lost", "longest"]
    cells = [
        [
            r.camera,
            r.day.isoformat(),
            f"{r.snapshots:,}",
            f"{r.first:%H:%M:%S}",
            f"{r.last:%H:%M:%S}",
            str(r.gaps),
            format_duration(round(r.lost_s)) if r.gaps else "-",
            format_duration(round(r.longest_s)) if r.gaps else "-",
        ]
        for r in rows
    ]
    return render_table("snapshot gaps by camera and day (UTC)", headers, cells, left=2)

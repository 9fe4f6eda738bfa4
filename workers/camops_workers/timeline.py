"""A camera's timeline records: each picture-state change and each outage, stored as small JSON
objects beside its snapshots, so ``camops stats --timeline`` can tell per camera and day what
happened from the store alone (also for cameras whose workers are long gone).

Keys follow the camera's layout with the kind as extension: ``<camera>/2026-03/20/101500.000.picture.json``
(at the transition) and ``...outage.json`` (at the outage's start). Retention deletes them with
the snapshots of their day. Pure: building, naming and summing records; the worker queues them
and the stats command reads them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from camops_workers.outages import Outage
from camops_workers.picture import Verdict
from camops_workers.redact import redact
from camops_workers.storage.keys import Layout, key_time, object_key
from camops_workers.texttable import render_table
from camops_workers.units import format_duration, format_time

__all__ = [
    "RECORD_KINDS",
    "DayTimeline",
    "outage_record",
    "picture_record",
    "record_key",
    "record_kind",
    "render_timeline",
    "summarize_records",
]

RECORD_KINDS = ("picture", "outage")


def record_key(layout: Layout | str, prefix: str, camera: str, at: datetime, kind: str) -> str:
    """The key of one record (``kind`` is ``picture`` or ``outage``)."""
    if kind not in RECORD_KINDS:
        raise ValueError(f"unknown record kind {kind!r}")
    return object_key(layout, prefix, camera, at, kind) + ".json"


def record_kind(key: str) -> str | None:
    """``picture`` or ``outage`` for a record's key, else None."""
    for kind in RECORD_KINDS:
        if key.endswith(f".{kind}.json") and key_time(key) is not None:
            return kind
    return None


def picture_record(camera: str, verdict: Verdict) -> bytes:
    """The record of the picture-state change ``verdict`` completed."""
    change = verdict.transition
    if change is None:
        raise ValueError("the verdict changed nothing")
    body = {
        "kind": "picture",
        "camera": camera,
        "state": change.state.value,
        "previous": change.previous.value,
        "since": format_time(change.since),
        "at": format_time(change.at),
        "message": verdict.message,
        "measures": verdict.measures.as_dict(),
    }
    return json.dumps(body, sort_keys=True).encode()


def outage_record(camera: str, outage: Outage) -> bytes:
    """The record of a closed outage."""
    if outage.end is None:
        raise ValueError("the outage is still open")
    body = {
        "kind": "outage",
        "camera": camera,
        "start": format_time(outage.start),
        "end": format_time(outage.end),
        "seconds": round(outage.seconds(outage.end), 3),
        "reason": redact(outage.reason),
    }
    return json.dumps(body, sort_keys=True).encode()


@dataclass
class DayTimeline:
    camera: str
    day: date
    #: Picture faults entered that day, by state.
    faults: dict[str, int] = field(default_factory=dict)
    outages: int = 0
    outage_s: float = 0.0
    longest_outage_s: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "camera": self.camera,
            "day": self.day.isoformat(),
            "pictureFaults": dict(sorted(self.faults.items())),
            "outages": self.outages,
            "outageSeconds": round(self.outage_s, 1),
            "longestOutageSeconds": round(self.longest_outage_s, 1),
        }


def summarize_records(records: Iterable[tuple[str, Mapping[str, Any]]]) -> list[DayTimeline]:
    """(key, parsed record) pairs -> one row per camera and day, sorted. Unknown records are skipped."""
    rows: dict[tuple[str, date], DayTimeline] = {}
    for key, body in records:
        moment = key_time(key)
        camera = body.get("camera")
        if moment is None or not isinstance(camera, str):
            continue
        row = rows.setdefault((camera, moment.date()), DayTimeline(camera, moment.date()))
        if body.get("kind") == "picture":
            state = str(body.get("state"))
            if state != "Healthy":
                row.faults[state] = row.faults.get(state, 0) + 1
        elif body.get("kind") == "outage":
            seconds = float(body.get("seconds") or 0.0)
            row.outages += 1
            row.outage_s += seconds
            row.longest_outage_s = max(row.longest_outage_s, seconds)
    return [rows[k] for k in sorted(rows)]


def render_timeline(rows: list[DayTimeline]) -> str:
    """A table: camera, day, picture faults entered (by state), outages, time away, longest."""
    headers = ["camera", "day", "picture faults", "outages", "away", "longest"]
    cells = [
        [
            r.camera,
            r.day.isoformat(),
            ", ".join(f"{state} {n}" for state, n in sorted(r.faults.items())) or "-",
            str(r.outages),
            format_duration(round(r.outage_s)) if r.outages else "-",
            format_duration(round(r.longest_outage_s)) if r.outages else "-",
        ]
        for r in rows
    ]
    return render_table("picture faults and outages by camera and day (UTC)", headers, cells, left=3)

"""``camops queue stats|retry --queue DIR``: look into an offline queue, re-arm its failed items.

``stats`` prints depth, bytes, oldest age, failed, dropped (by reason: ``dropOldest`` made room,
``rejectNew`` and ``volumeFull`` refused new captures), expired and uploaded, then per camera
what it has waiting, uploaded and lost (``--json`` for a machine), plus the first parked items
with their (redacted) errors. ``retry`` puts every failed item back in line; a running worker or
``camops drain`` picks them up.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from camops_workers.queue.durable import DurableQueue
from camops_workers.units import format_bytes, format_duration

__all__ = ["configure", "main"]


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    stats = sub.add_parser("stats", help="depth, bytes, oldest age, failed, dropped, expired")
    stats.add_argument("--queue", metavar="DIR", required=True)
    stats.add_argument("--json", action="store_true", help="one JSON object")
    retry = sub.add_parser("retry", help="re-arm the items parked as failed")
    retry.add_argument("--queue", metavar="DIR", required=True)


def main(args: argparse.Namespace) -> int:
    if not (Path(args.queue) / "queue.db").exists():
        print(f"camops queue: no queue in {args.queue} (queue.db missing)", file=sys.stderr)
        return 2
    queue = DurableQueue(args.queue)
    try:
        if args.action == "retry":
            count = queue.retry_failed()
            print(f"re-armed {count} failed items in {queue.name}")
            return 0
        stats = queue.stats()
        failed = queue.failed_items(limit=20)
        counters = queue.counters()
        cameras = {camera: queue.camera_stats(camera) for camera in queue.cameras()}
    finally:
        queue.close()
    if args.json:
        out = {
            **asdict(stats),
            "pending": stats.pending,
            "counters": counters,
            "dropped_by_reason": _dropped_by_reason(counters),
            "cameras": {c: {**asdict(s), "pending": s.pending} for c, s in cameras.items()},
            "failed_items": [{"id": i, "key": k, "attempts": a, "error": e} for i, k, a, e in failed],
        }
        print(json.dumps(out, sort_keys=True))
        return 0
    age = "-" if stats.oldest_age_s is None else format_duration(round(stats.oldest_age_s, 3))
    rows = [
        ("queue", str(Path(args.queue).absolute())),
        ("depth", str(stats.depth)),
        ("pending", str(stats.pending)),
        ("bytes", f"{stats.bytes} ({format_bytes(stats.bytes)})"),
        ("oldest age", age),
        ("failed", str(stats.failed)),
        ("dropped", _dropped_line(stats.dropped, counters)),
        ("expired", str(stats.expired)),
        ("uploaded", str(stats.uploaded)),
    ]
    for name, value in rows:
        print(f"{name:<11} {value}")
    for camera, s in cameras.items():
        line = f"{camera}: {s.depth} items, {format_bytes(s.bytes)}, uploaded {s.uploaded}, dropped {s.dropped}"
        print(f"{'camera':<11} {line}")
    for item_id, key, attempts, error in failed:
        print(f"failed      {key} (id {item_id}, attempts {attempts}): {error}")
    return 0


def _dropped_by_reason(counters: dict[str, int]) -> dict[str, int]:
    return {k.removeprefix("dropped_"): v for k, v in counters.items() if k.startswith("dropped_") and v}


def _dropped_line(total: int, counters: dict[str, int]) -> str:
    reasons = ", ".join(f"{k} {v}" for k, v in _dropped_by_reason(counters).items())
    return f"{total} ({reasons})" if reasons else str(total)

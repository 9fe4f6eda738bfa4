"""``camops stats --bucket B [--prefix P] [--json] [--gaps [--gap 2m]] [--timeline]`` (or ``--dir D``).

Prints a table by default (one row per camera, objects and bytes by age), or one
JSON object with ``--json``; ``--gaps`` adds the gaps in each camera's snapshots per day
(``retention.gaps``), ``--timeline`` the picture faults and outages the workers recorded
(``camops_workers.timeline``). Exits 2 on bad input, 1 when the store cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from camops_workers.redact import redact
from camops_workers.retention.gaps import render_gaps, snapshot_gaps
from camops_workers.retention.options import add_storage_arguments, storage_config
from camops_workers.retention.stats import render_table, summarize
from camops_workers.storage.base import ObjectStore, StorageError, StoredObject
from camops_workers.timeline import record_kind, render_timeline, summarize_records
from camops_workers.units import parse_duration

__all__ = ["configure", "main", "parse_now"]


def parse_now(text: str | None) -> datetime:
    """``--now`` (ISO 8601, for reproducible reports and tests) or the current time."""
    if not text:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"--now {text!r} needs a time zone, e.g. 2026-03-20T12:00:00Z")
    return moment.astimezone(UTC)


def configure(parser: argparse.ArgumentParser) -> None:
    add_storage_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--now", help="evaluate ages as of this ISO 8601 time (default: now)")
    parser.add_argument(
        "--gaps", action="store_true", help="also show gaps in each camera's snapshots, per camera and day"
    )
    parser.add_argument(
        "--timeline",
        action="store_true",
        help="also show picture faults and outages per camera and day (from the workers' timeline records)",
    )
    parser.add_argument(
        "--gap",
        help="snapshots further apart than this (e.g. 2m) leave a gap; default: 5x the camera's usual spacing, >= 1m",
    )


def main(args: argparse.Namespace) -> int:
    try:
        config = storage_config(args)
        now = parse_now(args.now)
        min_gap_s = parse_duration(args.gap) if args.gap else None
    except ValueError as exc:
        print(f"camops stats: {redact(exc)}", file=sys.stderr)
        return 2
    from camops_workers.storage.factory import open_store

    prefix = f"{config.prefix}/" if config.prefix else ""
    try:
        store = open_store(config)
        store.ensure_bucket()
    except StorageError as exc:  # a missing bucket or folder, refused credentials: the input is wrong
        print(f"camops stats: {redact(exc)}", file=sys.stderr)
        return 2
    try:
        listing = list(store.list_objects(prefix, recursive=True))
    except StorageError as exc:
        print(f"camops stats: {redact(exc)}", file=sys.stderr)
        return 1
    stats = summarize(listing, prefix, now, where=store.description)
    gaps = snapshot_gaps(listing, prefix, min_gap_s=min_gap_s) if args.gaps or args.gap else None
    timeline = None
    if args.timeline:
        try:
            timeline = summarize_records(_read_records(store, listing))
        except StorageError as exc:
            print(f"camops stats: {redact(exc)}", file=sys.stderr)
            return 1
    if args.json:
        body = stats.to_dict()
        if gaps is not None:
            body["gaps"] = [row.to_dict() for row in gaps]
        if timeline is not None:
            body["timeline"] = [row.to_dict() for row in timeline]
        print(json.dumps(body, indent=2))
    else:
        print(render_table(stats))
        if gaps is not None:
            print()
            print(render_gaps(gaps))
        if timeline is not None:
            print()
            print(render_timeline(timeline))
    return 0


def _read_records(store: ObjectStore, listing: list[StoredObject]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The timeline records in ``listing`` (one GET each; they are few: one per change), parsed."""
    for obj in listing:
        if record_kind(obj.key) is None:
            continue
        try:
            body = json.loads(store.get(obj.key))
        except ValueError:
            continue  # not a record camops wrote
        if isinstance(body, dict):
            yield obj.key, body

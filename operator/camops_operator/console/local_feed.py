"""Local mode's feed: the runner's per-camera views (in this process) become console records.

The runner keeps each camera's latest worker status in memory; the feed reads it twice a
second on the event loop and the fleet sends only what changed to open pages.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from camops_operator.console.fleet import CameraRecord, Fleet, Outage
from camops_operator.console.tiles import HEALTHY_PICTURES, Health, Tile
from camops_operator.local.plan import PlannedCamera
from camops_operator.local.status import STATE_LABELS, CameraView
from camops_workers.redact import redact
from camops_workers.storage.keys import camera_prefix

__all__ = ["follow_views", "record_from_view", "tile_from_view"]

#: The runner's states → (phase, wall state).
_PHASES: dict[str, tuple[str, Health]] = {
    "starting": ("Pending", Health.PENDING),
    "connecting": ("Pending", Health.PENDING),
    "connected": ("Running", Health.OK),
    "backoff": ("Degraded", Health.BROKEN),
    "failed": ("Failed", Health.BROKEN),
    "paused": ("Paused", Health.PAUSED),
    "stopped": ("Stopped", Health.PAUSED),
}


def tile_from_view(view: CameraView, planned: PlannedCamera) -> Tile:
    phase, health = _PHASES.get(view.state, ("Pending", Health.PENDING))
    message = None
    if view.storage_state != "closed":
        health = Health.BROKEN if health is Health.OK else health
        message = f"storage {view.storage_state}: {view.storage_error or 'unreachable'}"
    elif health is Health.BROKEN and view.last_error:
        message = view.last_error
    elif view.picture and view.picture.lower() not in HEALTHY_PICTURES and health is Health.OK:
        health = Health.BROKEN
        message = view.picture_message or f"picture {view.picture}"
    return Tile(
        namespace=planned.camera.namespace,
        name=planned.name,
        labels=dict(planned.camera.metadata.labels),
        phase=phase,
        health=health,
        picture=view.picture,
        last_snapshot_at=view.last_snapshot_at,
        queue_depth=view.queue_depth,
        message=redact(message) if message else None,
    )


def record_from_view(view: CameraView, planned: PlannedCamera) -> CameraRecord:
    tile = tile_from_view(view, planned)
    facts = (
        ("Source", STATE_LABELS.get(view.state, view.state), redact(view.last_error or "")),
        ("Storage", "reachable" if view.storage_state == "closed" else view.storage_state, view.storage_error or ""),
        ("Snapshots", str(view.snapshots), "this run"),
        ("Segments", str(view.segments), "this run"),
        ("Offline queue", f"{view.queue_depth} item(s)", f"{view.dropped} dropped" if view.dropped else ""),
        ("Reconnects", str(view.reconnects), ""),
        ("Picture", view.picture or "not judged", view.picture_message or ""),
    )
    reported = tuple(Outage(start, end, reason) for start, end, reason in view.outages)
    config = planned.config
    if config is None:
        return CameraRecord(tile=tile, facts=facts, reported=reported)
    storage = config.storage
    return CameraRecord(
        tile=tile,
        facts=facts,
        reported=reported,
        storage=storage,
        prefix=camera_prefix(storage.prefix, config.camera),
        layout=str(storage.layout),
    )


async def follow_views(
    views: Callable[[], Sequence[CameraView]],
    planned: Sequence[PlannedCamera],
    fleet: Fleet,
    stop: asyncio.Event,
    *,
    interval_s: float = 0.5,
) -> None:
    """Copy the runner's views into ``fleet`` every ``interval_s`` until ``stop`` is set."""
    by_name = {p.name: p for p in planned}
    while not stop.is_set():
        fleet.replace_all(record_from_view(v, by_name[v.name]) for v in views() if v.name in by_name)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)

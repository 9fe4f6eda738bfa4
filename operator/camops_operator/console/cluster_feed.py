"""The cluster feed: one list + watch on every Camera keeps the console's fleet current.

A dropped watch resumes from the last resourceVersion; a ``410 Gone`` (or any failure)
lists again after a capped backoff. No request is made per camera.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from camops_operator.api.camera import Camera
from camops_operator.console.fleet import CameraRecord, Fleet, Outage
from camops_operator.console.kube import list_cameras, watch_cameras
from camops_operator.console.tiles import condition_words, parse_time, tile_from_camera
from camops_operator.k8s import API_FAILURES, KubeApi, describe_failure
from camops_workers.backoff import BackoffPolicy, backoff_delay
from camops_workers.contract import StorageConfig
from camops_workers.storage.keys import Layout, camera_prefix

__all__ = ["follow_cameras", "record_from_camera", "reported_outages"]

log = logging.getLogger("camops.console")

#: a failed camera watch is retried after 1 s, doubling up to 30 s
WATCH_RETRY = BackoffPolicy(base_s=1.0, cap_s=30.0, jitter=0.2)
#: what makes the feed list again after WATCH_RETRY; a dropped watch (aiohttp's ClientPayloadError,
#: no OSError) included, else the feed task ends and the wall stops following the cluster
RETRIED: tuple[type[Exception], ...] = (*API_FAILURES, ValueError)


def reported_outages(capture: Mapping[str, Any]) -> tuple[Outage, ...]:
    """``status.capture.outages`` (start, end, reason) as the worker reported them; malformed entries skipped."""
    out = []
    for entry in capture.get("outages") or []:
        if not isinstance(entry, Mapping):
            continue
        start = parse_time(entry.get("start"))
        if start is None:
            continue
        reason = entry.get("reason")
        out.append(Outage(start, parse_time(entry.get("end")), str(reason) if reason else None))
    return tuple(out)


def record_from_camera(obj: Mapping[str, Any], storage: StorageConfig | None) -> CameraRecord:
    """A record from a Camera's JSON; ``storage`` holds the defaults its ``spec.storage`` overrides."""
    tile = tile_from_camera(obj)
    capture = (obj.get("status") or {}).get("capture") or {}
    facts: list[tuple[str, str, str]] = [
        (kind, value, f"{reason}: {message}" if reason and message else reason or message)
        for kind, value, reason, message in condition_words(obj)
    ]
    for what, field in (("Snapshots", "snapshots"), ("Segments", "segments"), ("Reconnects", "reconnects")):
        if field in capture:
            facts.append((what, str(capture[field]), "since the worker started"))
    if capture.get("lastError"):
        facts.append(("Last error", str(capture["lastError"]), ""))
    reported = reported_outages(capture)
    try:
        camera = Camera.model_validate(obj)
    except ValidationError:
        return CameraRecord(tile=tile, facts=tuple(facts), reported=reported, raw=obj)
    if storage is None:
        return CameraRecord(tile=tile, facts=tuple(facts), reported=reported, raw=obj)
    spec = camera.spec.storage
    updates: dict[str, object] = {"prefix": spec.prefix, "layout": Layout(spec.layout)}
    if spec.bucket:
        updates["bucket"] = spec.bucket
    if spec.endpoint:
        updates["endpoint"] = spec.endpoint
    config = storage.model_copy(update=updates)
    return CameraRecord(
        tile=tile,
        facts=tuple(facts),
        storage=config,
        prefix=camera_prefix(spec.prefix, camera.name),
        layout=str(spec.layout),
        reported=reported,
        raw=obj,
    )


async def follow_cameras(
    api: KubeApi, fleet: Fleet, storage: StorageConfig | None, stop: asyncio.Event, *, watch_timeout_s: int = 300
) -> None:
    """List, then watch, every Camera until ``stop`` is set; the fleet follows."""
    failures = 0
    while not stop.is_set():
        try:
            listed = await list_cameras(api)
            fleet.replace_all(record_from_camera(obj, storage) for obj in listed.get("items") or [])
            version = str((listed.get("metadata") or {}).get("resourceVersion") or "")
            failures = 0
            while not stop.is_set():
                gone = False
                async for event in watch_cameras(api, version, timeout_s=watch_timeout_s):
                    kind = event.get("type")
                    obj = event.get("object") or {}
                    if kind == "ERROR":
                        gone = True  # 410 Gone and friends: list again
                        break
                    meta = obj.get("metadata") or {}
                    version = str(meta.get("resourceVersion") or version)
                    if kind == "DELETED":
                        fleet.remove(str(meta.get("namespace")), str(meta.get("name")))
                    elif kind in {"ADDED", "MODIFIED"}:
                        fleet.upsert(record_from_camera(obj, storage))
                if gone:
                    break
        except asyncio.CancelledError:
            raise
        except RETRIED as exc:
            failures += 1
            delay = backoff_delay(failures, random.random(), WATCH_RETRY)  # noqa: S311 - jitter
            log.warning("console: camera watch failed (retry in %.0fs): %s", delay, describe_failure(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

"""MediaMTX drift repair: re-apply paths MediaMTX lost, remove ours that no Camera wants.

MediaMTX forgets API changes when it restarts. Every ``drift_interval`` one
pass lists MediaMTX's paths (paginated), compares them with what the Cameras in
kopf's index want, adds or patches what differs, and removes paths recorded in
the ledger ConfigMap (``camops-mediamtx-paths`` in the operator's namespace:
the paths this operator created) that no Camera wants any more. Paths someone
else configured are never touched.

The pass starts only once kopf's indices are complete (the first handler call
hands them over), so a restart never mistakes not-yet-listed Cameras for orphans.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from camops_operator import k8s
from camops_operator.api.camera import Camera
from camops_operator.builders.mediamtx import (
    build_mediamtx_path,
    comparable,
    mediamtx_path_name,
    retention_record_delete_after,
)
from camops_operator.handlers.context import Runtime
from camops_operator.handlers.indexes import MEDIA_CAMERAS, RETENTION_POLICIES, policies_in
from camops_operator.handlers.secrets import SecretNotFoundError, credentials_for
from camops_operator.mediamtx import MediaMTXError
from camops_operator.status import DRIFT_FAILED, SECRET_NOT_FOUND, MediaSync, media_configured
from camops_workers.redact import redact

__all__ = ["LEDGER_NAME", "DriftReport", "drift_once", "drift_task"]

LEDGER_NAME = "camops-mediamtx-paths"
LEDGER_KEY = "paths"
log = logging.getLogger("camops.operator.drift")
#: What makes a whole pass fail (and be retried at the next interval).
_PASS_FAILURES: tuple[type[Exception], ...] = (MediaMTXError, *k8s.API_FAILURES)


@dataclass(frozen=True)
class DriftReport:
    added: int = 0
    patched: int = 0
    removed: int = 0
    errors: int = 0


def _cameras(index: Any) -> list[Camera]:
    out: list[Camera] = []
    for _, store in (index or {}).items():
        out.extend(store)
    return out


async def _ledger(rt: Runtime) -> set[str]:
    live = await k8s.get_own_config_map(rt.require_kube(), rt.settings.operator_namespace, LEDGER_NAME)
    text = ((live or {}).get("data") or {}).get(LEDGER_KEY, "")
    return {line for line in text.splitlines() if line}


async def _write_ledger(rt: Runtime, names: set[str]) -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": LEDGER_NAME,
            "namespace": rt.settings.operator_namespace,
            "labels": {"app.kubernetes.io/managed-by": "camops", "app.kubernetes.io/component": "mediamtx-ledger"},
        },
        "data": {LEDGER_KEY: "\n".join(sorted(names))},
    }
    await k8s.ensure_own_config_map(rt.require_kube(), manifest)


def _failed(rt: Runtime, exc: Exception) -> MediaSync:
    if isinstance(exc, SecretNotFoundError):  # never write the path without the camera's credentials
        return MediaSync(True, False, f"not configured: {exc}", SECRET_NOT_FOUND)
    rt.metrics.mediamtx_errors.labels(operation="drift").inc()
    return MediaSync(True, False, redact(str(exc)))


async def drift_once(rt: Runtime) -> DriftReport:
    """One repair pass (needs the indices and a MediaMTX client)."""
    api = rt.mediamtx
    if api is None:
        return DriftReport()
    policies = rt.indices.get(RETENTION_POLICIES)
    desired: dict[str, tuple[Camera, dict[str, Any]]] = {}
    for camera in _cameras(rt.indices.get(MEDIA_CAMERAS)):
        conf = build_mediamtx_path(
            camera,
            record_delete_after=retention_record_delete_after(camera, policies_in(policies, camera.namespace)),
        )
        desired[conf["name"]] = (camera, conf)
    live = await api.list_paths()
    owned = await _ledger(rt)
    if not set(desired) <= owned:
        await _write_ledger(rt, owned | set(desired))  # record ownership before anything else
    added = patched = removed = errors = 0
    for name, (camera, conf) in desired.items():
        fields = [k for k in conf if k != "name"]
        current = live.get(name)
        if current is not None and comparable(current, fields) == comparable(conf, fields):
            continue
        try:
            full = build_mediamtx_path(
                camera,
                record_delete_after=retention_record_delete_after(camera, policies_in(policies, camera.namespace)),
                credentials=await credentials_for(rt, camera),
            )
            outcome = await api.ensure_path(name, full, current if current is not None else None)
        except (SecretNotFoundError, MediaMTXError, k8s.KubeError) as exc:
            errors += 1
            rt.media[(camera.namespace, camera.name)] = _failed(rt, exc)
            continue
        rt.media[(camera.namespace, camera.name)] = media_configured(name)
        if outcome == "added":
            added += 1
        elif outcome == "patched":
            patched += 1
        rt.metrics.mediamtx_repairs.labels(action=outcome).inc()
        log.info("camera %s/%s: MediaMTX path %s %s by drift repair", camera.namespace, camera.name, name, outcome)
    orphans = {name for name in live if name in owned and name not in desired}
    failed: set[str] = set()
    for name in sorted(orphans):
        try:
            await api.delete_path(name)
        except MediaMTXError:
            errors += 1
            failed.add(name)
            rt.metrics.mediamtx_errors.labels(operation="drift").inc()
            continue
        removed += 1
        rt.metrics.mediamtx_repairs.labels(action="removed").inc()
        log.info("MediaMTX path %s removed: no Camera wants it", name)
    keep = set(desired) | failed
    if keep != owned:
        await _write_ledger(rt, keep)
    return DriftReport(added, patched, removed, errors)


def _mark(rt: Runtime, failure: str | None) -> None:
    """Say in every wanted path's sync result whether the drift pass as a whole works (status picks it up)."""
    rt.drift_failure = failure
    for camera in _cameras(rt.indices.get(MEDIA_CAMERAS)):
        key = (camera.namespace, camera.name)
        current = rt.media.get(key)
        if failure is not None:
            if current is None or current.ok is not False or current.reason == DRIFT_FAILED:
                message = f"path {mediamtx_path_name(camera)}: {failure}"
                rt.media[key] = MediaSync(True, False, message, DRIFT_FAILED)
        elif current is not None and current.reason == DRIFT_FAILED:
            rt.media[key] = media_configured(mediamtx_path_name(camera))


async def _loop(rt: Runtime) -> None:
    await rt.indices_ready.wait()
    failures = 0
    while True:
        try:
            report = await drift_once(rt)
            failures = 0
            _mark(rt, None)
            if report.added or report.patched or report.removed or report.errors:
                log.info("MediaMTX drift repair: %s", report)
        except _PASS_FAILURES as exc:
            failures += 1
            reason = redact(k8s.describe_failure(exc))
            _mark(rt, f"drift repair fails ({reason}): the path is not re-applied after a MediaMTX restart")
            if failures in {1, 10} or failures % 100 == 0:  # rate-limited: one line per outage phase
                log.warning("MediaMTX drift repair failed (%d in a row): %s", failures, reason)
        await asyncio.sleep(rt.settings.drift_interval)


@contextlib.asynccontextmanager
async def drift_task(rt: Runtime) -> AsyncIterator[asyncio.Task[None]]:
    """Run the repair loop for the duration of the context (no-op without MediaMTX)."""
    task = asyncio.create_task(_loop(rt), name="camops-mediamtx-drift")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

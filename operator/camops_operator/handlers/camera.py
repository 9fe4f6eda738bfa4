"""kopf handlers for Camera: validate → pure builders → idempotent apply → status.

* create / update / resume: reconcile every child and the MediaMTX path, then status.
* a timer: roll up status from the Deployment, the worker's report and the last MediaMTX sync.
* delete (finalizer): remove the MediaMTX path, giving up after ``mediamtx_delete_timeout``.
"""

from __future__ import annotations

import datetime
import logging
import time
from typing import Any

import kopf
from pydantic import ValidationError

from camops_operator import k8s
from camops_operator.api.camera import Camera, CameraStatus
from camops_operator.api.common import describe_error
from camops_operator.builders.contract import ContractError, mediamtx_path_name
from camops_operator.builders.mediamtx import build_mediamtx_path, retention_record_delete_after
from camops_operator.builders.worker import worker_name
from camops_operator.handlers.children import Child, desired_children
from camops_operator.handlers.context import Runtime, retry_delay
from camops_operator.handlers.context import runtime as current_runtime
from camops_operator.handlers.indexes import MEDIA_CAMERAS, RETENTION_POLICIES, policies_in
from camops_operator.handlers.pool import pooled_pending, pooled_worker, pooled_worker_view
from camops_operator.handlers.secrets import SECRET_NOT_FOUND, SecretNotFoundError, credentials_for, missing_secrets
from camops_operator.mediamtx import MediaMTXError
from camops_operator.settings import OperatorSettings
from camops_operator.status import (
    DRIFT_FAILED,
    MediaSync,
    Observed,
    compute_status,
    events_for,
    media_configured,
    queue_volume_of,
    status_changes,
)
from camops_workers.redact import redact

__all__ = ["reconcile", "register", "sync_media"]

GROUP, VERSION, PLURAL = "camops.io", "v1alpha1", "cameras"
log = logging.getLogger("camops.operator")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _previous(body: kopf.Body) -> CameraStatus | None:
    try:
        return CameraStatus.model_validate(dict(body.get("status") or {}))
    except ValidationError:
        return None


def _delay(rt: Runtime, retry: int) -> float:
    return retry_delay(rt.settings.retry_delay, retry)


def _capture_indices(rt: Runtime, kwargs: dict[str, Any]) -> None:
    if rt.indices_ready.is_set():
        return
    for name in (MEDIA_CAMERAS, RETENTION_POLICIES):
        if name in kwargs:
            rt.indices[name] = kwargs[name]
    if MEDIA_CAMERAS in rt.indices:
        rt.indices_ready.set()


def _write_status(
    rt: Runtime, body: kopf.Body, patch: kopf.Patch, obs: Observed, previous: CameraStatus | None
) -> CameraStatus:
    new = compute_status(obs, previous, _now())
    changes = status_changes(previous, new)
    if changes is not None:
        patch.setdefault("status", {}).update(changes)
    key = (body.get("metadata", {}).get("namespace", ""), body.get("metadata", {}).get("name", ""))
    if changes is not None:
        for condition, event_type, reason, message in events_for(previous, new):
            if rt.posted.get((*key, condition)) == message:  # the timer and a change handler saw the same transition
                continue
            rt.posted[(*key, condition)] = message
            kopf.event(body, type=event_type, reason=reason, message=redact(message)[:1000])
    rt.set_phase(key, new.phase.value if new.phase else None)
    return new


def _invalid(rt: Runtime, body: kopf.Body, patch: kopf.Patch, message: str) -> kopf.PermanentError:
    meta = body.get("metadata", {})
    obs = Observed(
        generation=meta.get("generation"),
        paused=False,
        deployment=None,
        capture=None,
        media=MediaSync(wanted=False),
        invalid=message,
    )
    _write_status(rt, body, patch, obs, _previous(body))
    rt.metrics.reconciles.labels(result="invalid").inc()
    log.warning("camera %s/%s: invalid spec: %s", meta.get("namespace"), meta.get("name"), redact(message))
    return kopf.PermanentError(f"InvalidSpec: {message}")


async def sync_media(rt: Runtime, camera: Camera, policies_index: Any, old: Camera | None = None) -> MediaSync:
    """Bring the camera's MediaMTX path in line (and drop its old one after a rename or disable)."""
    key = (camera.namespace, camera.name)
    wanted = camera.spec.mediamtx.enabled
    api = rt.mediamtx
    if api is None:
        result = MediaSync(wanted, False, "the operator has no MediaMTX API URL (CAMOPS_MEDIAMTX_API_URL)")
        rt.media[key] = result
        return result if wanted else MediaSync(False)
    try:
        if old is not None and old.spec.mediamtx.enabled:
            old_name = mediamtx_path_name(old)
            if not wanted or old_name != mediamtx_path_name(camera):
                await api.delete_path(old_name)
                log.info("camera %s/%s: removed MediaMTX path %s", camera.namespace, camera.name, old_name)
        if not wanted:
            rt.media[key] = MediaSync(False)
            return rt.media[key]
        conf = build_mediamtx_path(
            camera,
            record_delete_after=retention_record_delete_after(camera, policies_in(policies_index, camera.namespace)),
            credentials=await credentials_for(rt, camera),
        )
        outcome = await api.ensure_path(conf["name"], conf)
        if outcome != "unchanged":
            log.info("camera %s/%s: MediaMTX path %s %s", camera.namespace, camera.name, conf["name"], outcome)
        result = media_configured(conf["name"])
        if rt.drift_failure is not None:  # configured now, but nothing keeps it configured
            result = MediaSync(True, False, f"path {conf['name']} written, but {rt.drift_failure}", DRIFT_FAILED)
    except SecretNotFoundError as exc:  # never write the path without the camera's credentials
        result = MediaSync(True, False, f"not configured: {exc}", SECRET_NOT_FOUND)
    except MediaMTXError as exc:
        rt.metrics.mediamtx_errors.labels(operation="sync").inc()
        result = MediaSync(True, False, redact(str(exc)))
    rt.media[key] = result
    return result


async def _apply_claim(rt: Runtime, camera: Camera, child: Child, *, new: bool) -> None:
    """Apply the queue's claim; a refused growth becomes the QueueVolumeSized condition, not a failed reconcile."""
    api = rt.require_kube()
    name = child.manifest["metadata"]["name"]
    error: str | None = None
    live: dict[str, Any] | None
    try:
        live = (await child.ensure(api, child.manifest, owner_uid=camera.metadata.uid, assume_absent=new)).live
    except k8s.KubeError as exc:
        live = await k8s.get_pvc(api, camera.namespace, name)
        if live is None or k8s.claim_resize(child.manifest, live) is None:
            raise  # not the growth that was refused
        error = redact(k8s.describe_failure(exc))
        log.warning("camera %s/%s: the queue's claim %s could not grow: %s", camera.namespace, camera.name, name, error)
    rt.claims[(camera.namespace, camera.name)] = queue_volume_of(camera.spec.offline_queue.size, name, live, error)


async def _apply_children(rt: Runtime, camera: Camera, *, new: bool) -> dict[str, Any]:
    """Apply PVC, ConfigMap, Deployment and CronJob (the same children the watch repairs); return the live Deployment.

    The builders run first, so a spec the contract cannot express changes nothing.
    """
    api = rt.require_kube()
    deployment: dict[str, Any] = {}
    rt.claims[(camera.namespace, camera.name)] = queue_volume_of(camera.spec.offline_queue.size, None, None)
    for child in desired_children(camera, rt.settings):
        if child.kind is k8s.PVC:
            await _apply_claim(rt, camera, child, new=new)
            continue
        applied = await child.ensure(api, child.manifest, owner_uid=camera.metadata.uid, assume_absent=new)
        if applied.drift:
            log.info(
                "camera %s/%s: %s %s updated (%s)",
                camera.namespace,
                camera.name,
                child.kind.kind,
                child.manifest["metadata"]["name"],
                ", ".join(applied.drift),
            )
        if child.kind is k8s.DEPLOYMENT:
            deployment = applied.live
    return deployment


async def reconcile(body: kopf.Body, old: Any, patch: kopf.Patch, retry: int, reason: str, **kwargs: Any) -> None:
    """create / update / resume: everything the Camera asks for, then its status."""
    rt = current_runtime()
    _capture_indices(rt, kwargs)
    started = time.monotonic()
    previous = _previous(body)
    try:
        camera = Camera.model_validate(dict(body))
    except ValidationError as exc:
        raise _invalid(rt, body, patch, describe_error(exc)) from None
    old_camera: Camera | None = None
    if isinstance(old, dict) and old.get("spec"):
        try:
            old_camera = Camera.model_validate({**dict(body), "spec": old["spec"]})
        except ValidationError:
            old_camera = None
    key = (camera.namespace, camera.name)
    try:
        if camera.spec.pool:  # a pool worker serves it: no children of its own
            was_own = reason != "create" and (old_camera is None or not old_camera.spec.pool)
            deployment = await pooled_worker(rt, camera, kwargs, may_have_own=was_own)
        else:
            deployment = await _apply_children(rt, camera, new=reason == "create")
        rt.secrets[key] = tuple(await missing_secrets(rt, camera, storage=not camera.spec.pool))
    except ContractError as exc:
        raise _invalid(rt, body, patch, str(exc)) from None
    except k8s.API_FAILURES as exc:
        rt.metrics.reconciles.labels(result="retry").inc()
        message = redact(k8s.describe_failure(exc))
        log.warning("camera %s/%s: applying children failed: %s", camera.namespace, camera.name, message)
        raise kopf.TemporaryError(f"applying children failed: {message}", delay=_delay(rt, retry)) from None
    media = await sync_media(rt, camera, kwargs.get(RETENTION_POLICIES), old_camera)
    obs = Observed(
        generation=camera.metadata.generation,
        paused=camera.spec.paused,
        deployment=deployment,
        capture=previous.capture if previous else None,
        media=media,
        secrets_missing=rt.secrets[key],
        queue=None if camera.spec.pool else rt.claims.get(key),
        worker_pending=pooled_pending(camera, kwargs) if camera.spec.pool else None,
    )
    _write_status(rt, body, patch, obs, previous)
    rt.metrics.handler_seconds.labels(handler=f"camera.{reason}").observe(time.monotonic() - started)
    if rt.secrets[key]:  # retried with backoff until the Secret appears (status already says which)
        rt.metrics.reconciles.labels(result="retry").inc()
        missing = "; ".join(rt.secrets[key])
        log.warning("camera %s/%s: %s", camera.namespace, camera.name, missing)
        raise kopf.TemporaryError(f"{SECRET_NOT_FOUND}: {missing}", delay=_delay(rt, retry))
    if media.wanted and media.ok is False and media.reason != DRIFT_FAILED:  # the drift loop retries that itself
        rt.metrics.reconciles.labels(result="retry").inc()
        log.warning("camera %s/%s: MediaMTX path not configured: %s", camera.namespace, camera.name, media.message)
        raise kopf.TemporaryError(f"MediaMTX: {media.message}", delay=_delay(rt, retry))
    rt.metrics.reconciles.labels(result="ok").inc()
    log.info("camera %s/%s: reconciled (%s)", camera.namespace, camera.name, reason)


async def roll_up(body: kopf.Body, patch: kopf.Patch, **kwargs: Any) -> None:
    """Timer: recompute status from the Deployment, the worker's report and the last MediaMTX sync."""
    rt = current_runtime()
    _capture_indices(rt, kwargs)
    if body.get("metadata", {}).get("deletionTimestamp"):
        return
    try:
        camera = Camera.model_validate(dict(body))
    except ValidationError:
        return  # the change handler reported it; nothing to roll up
    previous = _previous(body)
    if previous is None or previous.observed_generation is None:
        return  # not reconciled yet: the change handler writes the first status
    try:
        if camera.spec.pool:
            deployment = pooled_worker_view(rt, camera, kwargs)
        else:
            deployment = await k8s.get_deployment(rt.require_kube(), camera.namespace, worker_name(camera))
    except k8s.API_FAILURES as exc:
        message = redact(k8s.describe_failure(exc))
        log.warning("camera %s/%s: reading the worker failed: %s", camera.namespace, camera.name, message)
        return
    media = rt.media.get((camera.namespace, camera.name), MediaSync(camera.spec.mediamtx.enabled))
    obs = Observed(
        secrets_missing=rt.secrets.get((camera.namespace, camera.name), ()),
        queue=None if camera.spec.pool else rt.claims.get((camera.namespace, camera.name)),
        worker_pending=pooled_pending(camera, kwargs) if camera.spec.pool else None,
        generation=(previous.observed_generation if previous else None) or camera.metadata.generation,
        paused=camera.spec.paused,
        deployment=deployment,
        capture=previous.capture if previous else None,
        media=media,
    )
    _write_status(rt, body, patch, obs, previous)


async def delete(body: kopf.Body, runtime: datetime.timedelta, retry: int, **kwargs: Any) -> None:
    """Finalizer: remove the MediaMTX path; never hold the Camera longer than the configured timeout."""
    rt = current_runtime()
    _capture_indices(rt, kwargs)
    meta = body.get("metadata", {})
    key = (meta.get("namespace", ""), meta.get("name", ""))
    rt.media.pop(key, None)
    rt.secrets.pop(key, None)
    rt.claims.pop(key, None)
    for posted in [k for k in rt.posted if k[:2] == key]:
        del rt.posted[posted]
    rt.set_phase(key, None)
    try:
        camera = Camera.model_validate(dict(body))
    except ValidationError:
        return
    if not camera.spec.mediamtx.enabled or rt.mediamtx is None:
        return
    name = mediamtx_path_name(camera)
    try:
        await rt.mediamtx.delete_path(name)
    except MediaMTXError as exc:
        rt.metrics.mediamtx_errors.labels(operation="delete").inc()
        if runtime.total_seconds() >= rt.settings.mediamtx_delete_timeout:
            message = (
                f"gave up removing MediaMTX path {name} after {runtime.total_seconds():.0f} s: {redact(str(exc))}; "
                "the drift repair removes it once MediaMTX answers"
            )
            log.error("camera %s/%s: %s", *key, message)
            kopf.event(body, type="Warning", reason="MediaMTXPathLeft", message=message[:1000])
            return
        delay = min(_delay(rt, retry), max(1.0, rt.settings.mediamtx_delete_timeout - runtime.total_seconds()))
        raise kopf.TemporaryError(f"MediaMTX: {redact(str(exc))}", delay=delay) from None
    log.info("camera %s/%s: removed MediaMTX path %s", *key, name)


def register(registry: kopf.OperatorRegistry, settings: OperatorSettings) -> None:
    """Register the Camera handlers with intervals from ``settings``."""
    on = kopf.on
    on.create(GROUP, VERSION, PLURAL, registry=registry, id="reconcile")(reconcile)
    on.update(GROUP, VERSION, PLURAL, registry=registry, id="reconcile")(reconcile)
    on.resume(GROUP, VERSION, PLURAL, registry=registry, id="reconcile")(reconcile)
    on.delete(GROUP, VERSION, PLURAL, registry=registry, id="cleanup")(delete)
    kopf.timer(
        GROUP,
        VERSION,
        PLURAL,
        registry=registry,
        id="status",
        interval=settings.status_interval,
        initial_delay=settings.status_interval,
        idle=None,
    )(roll_up)

"""Keep a Camera's children as declared: watch them, and put back what someone changed.

kopf watches the Deployments, ConfigMaps, PersistentVolumeClaims and CronJobs labelled
``app.kubernetes.io/managed-by=camops`` in the watched namespaces. Every event (including
the listing at every start) compares the live child with what the builders make of its
Camera — the fields camops owns, :func:`camops_operator.builders.owned.owned_fields_drift`,
never a hash annotation — and, when they differ, applies the desired child again (a
deleted child is created again). The Camera comes from a kopf index, so a repair costs
no GET of the Camera; one that writes posts a Warning Event ``ChildRepaired`` on the Camera
naming the fields put back.

Pooled Cameras (``spec.pool``) are their pool's business; children of anything else
(the pool's StatefulSet and ConfigMap, the MediaMTX ledger) are left alone here.

A child that keeps changing after each repair (another controller fighting over a field)
is repaired at most :data:`MAX_REPAIRS` times per :data:`REPAIR_WINDOW_S`; then one warning
says which fields, and the next repair waits for the window to pass.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import kopf

from camops_operator import k8s
from camops_operator.api.camera import Camera
from camops_operator.builders.common import CAMERA_LABEL, MANAGED_BY
from camops_operator.builders.contract import ContractError
from camops_operator.builders.drain import build_drain_cron_job
from camops_operator.builders.queue import build_queue_pvc
from camops_operator.builders.worker import build_worker_config_map, build_worker_deployment
from camops_operator.handlers.context import Runtime
from camops_operator.handlers.context import runtime as current_runtime
from camops_operator.handlers.indexes import live_camera
from camops_operator.settings import OperatorSettings
from camops_operator.status import queue_volume_of
from camops_workers.kube import requires
from camops_workers.redact import redact

__all__ = [
    "CAMERAS",
    "MAX_REPAIRS",
    "REPAIR_WINDOW_S",
    "cameras_index",
    "child_event",
    "desired_children",
    "register",
]

CAMERAS = "camops_cameras"
MAX_REPAIRS = 5
REPAIR_WINDOW_S = 60.0
MANAGED = {"app.kubernetes.io/managed-by": MANAGED_BY}
log = logging.getLogger("camops.operator.children")

Ensure = Callable[..., Awaitable[k8s.Applied]]


@dataclass(frozen=True)
class Child:
    """One desired child and how to apply it."""

    kind: k8s.Kind
    manifest: dict[str, Any]
    ensure: Ensure


@requires("apps", "deployments", "list", "watch")
@requires("batch", "cronjobs", "list", "watch")
@requires("", "configmaps", "list", "watch")
@requires("", "persistentvolumeclaims", "list", "watch")
def children_kopf_permissions() -> None:
    """What kopf calls to follow the children: list and watch them in the watched namespaces."""


def cameras_index(body: kopf.Body, **_: Any) -> dict[tuple[str, str], Camera]:
    """Every valid Camera not being deleted, by (namespace, name); {} drops one."""
    camera = live_camera(body)
    if camera is None:
        return {}
    return {(camera.namespace, camera.name): camera}


def desired_children(camera: Camera, settings: OperatorSettings) -> list[Child]:
    """What the Camera's reconcile applies, in its order (pure; raises ContractError)."""
    config_map = build_worker_config_map(camera, settings)
    out: list[Child] = []
    pvc = build_queue_pvc(camera)
    if pvc is not None:
        out.append(Child(k8s.PVC, pvc, k8s.ensure_pvc))
    out.append(Child(k8s.CONFIG_MAP, config_map, k8s.ensure_config_map))
    out.append(Child(k8s.DEPLOYMENT, build_worker_deployment(camera, settings, config_map), k8s.ensure_deployment))
    cron = build_drain_cron_job(camera, settings)
    if cron is not None:
        out.append(Child(k8s.CRON_JOB, cron, k8s.ensure_cron_job))
    return out


def _owner(meta: Mapping[str, Any]) -> str | None:
    """The name of the Camera the child belongs to (its controller reference, else its camera label)."""
    for ref in meta.get("ownerReferences") or []:
        if ref.get("kind") == "Camera" and str(ref.get("apiVersion", "")).startswith("camops.io/"):
            return str(ref.get("name"))
    label = (meta.get("labels") or {}).get(CAMERA_LABEL)
    return str(label) if label else None


def _camera(index: Any, namespace: str, name: str) -> Camera | None:
    if index is None or (namespace, name) not in index:
        return None
    found = list(index[namespace, name])
    return found[0] if found else None


def _budget(rt: Runtime, key: tuple[str, str, str]) -> bool:
    """Whether this child may be repaired now (at most MAX_REPAIRS per window)."""
    now = time.monotonic()
    recent = [t for t in rt.repairs.get(key, []) if now - t < REPAIR_WINDOW_S]
    rt.repairs[key] = recent
    if len(recent) >= MAX_REPAIRS:
        return False
    recent.append(now)
    return True


def _camera_ref(camera: Camera) -> kopf.RawBody:
    """The Camera as kopf.event needs it (no GET)."""
    return {
        "apiVersion": camera.apiVersion,
        "kind": camera.kind,
        "metadata": {"name": camera.name, "namespace": camera.namespace, "uid": camera.metadata.uid or ""},
    }


async def repair(rt: Runtime, camera: Camera, child: Child, live: Mapping[str, Any] | None) -> k8s.Applied | None:
    """Apply ``child`` when ``live`` (None: gone) departs from it; None when nothing was written."""
    uid = camera.metadata.uid
    if live is not None:
        owner_uids = {ref["uid"] for ref in child.manifest["metadata"].get("ownerReferences", [])} | {uid or ""}
        if not k8s.drift(child.kind, dict(live), child.manifest, owner_uids):
            return None
    key = (camera.namespace, child.kind.kind, child.manifest["metadata"]["name"])
    if not _budget(rt, key):
        if len(rt.repairs.get(key, [])) == MAX_REPAIRS:
            rt.repairs[key].append(time.monotonic())  # say it once per window
            log.warning(
                "camera %s/%s: %s %s keeps changing after %d repairs in %.0f s; waiting (another controller?)",
                camera.namespace,
                camera.name,
                child.kind.kind,
                key[2],
                MAX_REPAIRS,
                REPAIR_WINDOW_S,
            )
        return None
    applied = await child.ensure(rt.require_kube(), child.manifest, owner_uid=uid)
    if applied.result is k8s.ApplyResult.UNCHANGED:
        return None
    fields = ", ".join(applied.drift) if applied.drift else "the whole object (it was deleted)"
    message = f"{child.kind.kind} {key[2]}: put back {fields}"
    rt.metrics.child_repairs.labels(kind=child.kind.kind).inc()
    log.warning("camera %s/%s: %s", camera.namespace, camera.name, message)
    kopf.event(kopf.Body(_camera_ref(camera)), type="Warning", reason="ChildRepaired", message=redact(message)[:1000])
    return applied


async def child_event(body: kopf.Body, type: str | None, **kwargs: Any) -> None:
    """A managed child changed (or was listed at start, or deleted): repair it if it departs from its Camera."""
    rt = current_runtime()
    meta = body.get("metadata", {})
    namespace, name = meta.get("namespace", ""), meta.get("name", "")
    owner = _owner(meta)
    if owner is None:
        return
    camera = _camera(kwargs.get(CAMERAS), namespace, owner)
    if camera is None or camera.spec.pool:
        return
    kind = body.get("kind")
    try:
        wanted = [c for c in desired_children(camera, rt.settings) if c.kind.kind == kind]
    except (ContractError, ValueError):
        return  # the Camera's own handler reports an invalid spec
    child = next((c for c in wanted if c.manifest["metadata"]["name"] == name), None)
    if child is None:
        return
    if child.kind is k8s.PVC and type != "DELETED":  # its size as the API server has it now (growth, resizes)
        key = (camera.namespace, camera.name)
        error = rt.claims[key].error if key in rt.claims else None
        rt.claims[key] = queue_volume_of(camera.spec.offline_queue.size, name, dict(body), error)
    try:
        await repair(rt, camera, child, None if type == "DELETED" else body)
    except k8s.API_FAILURES as exc:
        message = redact(k8s.describe_failure(exc))
        log.warning("camera %s/%s: repairing %s %s failed: %s", namespace, owner, kind, name, message)


def register(registry: kopf.OperatorRegistry, settings: OperatorSettings) -> None:
    """Index the Cameras; follow their children."""
    del settings
    kopf.index("camops.io", "v1alpha1", "cameras", id=CAMERAS, registry=registry)(cameras_index)
    for kind in (k8s.DEPLOYMENT, k8s.CONFIG_MAP, k8s.PVC, k8s.CRON_JOB):
        kopf.on.event(
            group=kind.group,
            version=kind.version,
            plural=kind.plural,
            labels=MANAGED,
            registry=registry,
            id=f"child-{kind.plural}",
        )(child_event)

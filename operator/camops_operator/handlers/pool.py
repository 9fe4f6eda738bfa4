"""kopf handlers for CameraPool: one daemon per pool applies its assignment ConfigMap and StatefulSet.

What the pool needs comes from kopf indexes fed by watches, never from periodic GETs:
its Cameras (``spec.pool``), the pools themselves, and the readiness of the pool's pods.
A Camera event that changes a camera's pool or generation (or deletes it) wakes the
daemon of each pool concerned; the daemon recomputes the stable assignment
(:func:`camops_operator.assignment.assign`) and writes only what changed (hashes of
what it last applied are kept in memory; the first pass after a start reads the
ConfigMap once for the previous assignment).

Pooled Cameras get no Deployment of their own. One that had one (it moved into a pool)
keeps it scaled to 0 with its drain CronJob running, so what it had queued is uploaded.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import logging
from typing import Any

import kopf
from pydantic import ValidationError

from camops_operator import k8s
from camops_operator.api.camera import Camera
from camops_operator.api.common import dump
from camops_operator.api.pool import CameraPool, CameraPoolStatus
from camops_operator.assignment import Assignment, assign, worker_of
from camops_operator.builders.drain import build_drain_cron_job
from camops_operator.builders.pool import (
    ASSIGNMENT_KEY,
    POOL_LABEL,
    build_pool_config_map,
    build_pool_contracts,
    build_pool_stateful_set,
    pool_name,
    pool_secrets,
    pooled_contract,
    worker_pod_name,
)
from camops_operator.builders.worker import build_worker_config_map, build_worker_deployment, worker_name
from camops_operator.handlers.context import Runtime, retry_delay
from camops_operator.handlers.context import runtime as current_runtime
from camops_operator.handlers.indexes import live_camera
from camops_operator.handlers.pool_state import PoolState
from camops_operator.pool_status import pool_status
from camops_operator.settings import OperatorSettings
from camops_workers.kube import requires
from camops_workers.redact import redact

__all__ = [
    "POOLS",
    "POOL_CAMERAS",
    "POOL_PODS",
    "pooled_pending",
    "pooled_worker",
    "pooled_worker_view",
    "reconcile_pool",
    "register",
]

GROUP, VERSION = "camops.io", "v1alpha1"
POOLS = "camops_pools"
POOL_CAMERAS = "camops_pool_cameras"
POOL_PODS = "camops_pool_pods"
#: Camera events arriving together are handled in one pass (a pass renders every camera of the pool).
DEBOUNCE_S = 1.0
log = logging.getLogger("camops.operator")


@requires("camops.io", "camerapools", "get", "list", "watch", "patch")
@requires("camops.io", "camerapools/status", "get", "patch")
@requires("", "pods", "list", "watch")
def pool_kopf_permissions() -> None:
    """What kopf calls for pools: watch the pools (and their pods' readiness), patch them."""


# -- indexes ------------------------------------------------------------------------------------


# An index function returns {} (not None) to drop an object: kopf keeps the old entry on None.


def pools_index(body: kopf.Body, **_: Any) -> dict[tuple[str, str], CameraPool]:
    """Valid CameraPools by (namespace, name)."""
    try:
        pool = CameraPool.model_validate(dict(body))
    except ValidationError:
        return {}
    return {(pool.namespace, pool.name): pool}


def pool_cameras_index(body: kopf.Body, **_: Any) -> dict[tuple[str, str], Camera]:
    """Valid pooled Cameras by (namespace, pool), not being deleted."""
    camera = live_camera(body)
    if camera is None or not camera.spec.pool:
        return {}
    return {(camera.namespace, camera.spec.pool): camera}


def pool_pods_index(body: kopf.Body, **_: Any) -> dict[tuple[str, str], bool]:
    """Readiness of the pool workers' pods by (namespace, pod name)."""
    meta = body.get("metadata", {})
    conditions = (body.get("status") or {}).get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return {(meta.get("namespace", ""), meta.get("name", "")): ready and not meta.get("deletionTimestamp")}


def _one(index: Any, key: tuple[str, str]) -> Any | None:
    if index is None or key not in index:
        return None
    values = list(index[key])
    return values[0] if values else None


def _members(index: Any, namespace: str, pool: str) -> dict[str, Camera]:
    if index is None or (namespace, pool) not in index:
        return {}
    return {camera.name: camera for camera in index[namespace, pool]}


def _ready_pods(index: Any, namespace: str, pods: list[str]) -> dict[str, bool]:
    return {pod: bool(_one(index, (namespace, pod))) for pod in pods}


# -- the pool ------------------------------------------------------------------------------------


def _assignment_from(config_map: dict[str, Any] | None) -> Assignment:
    raw = ((config_map or {}).get("data") or {}).get(ASSIGNMENT_KEY)
    if not raw:
        return ()
    try:
        loaded = json.loads(raw)
        return tuple(tuple(str(name) for name in members) for members in loaded)
    except (ValueError, TypeError):
        return ()


async def reconcile_pool(rt: Runtime, pool: CameraPool, kwargs: dict[str, Any]) -> None:
    """Apply the pool's ConfigMap and StatefulSet for its current cameras; patch its status when it changed."""
    state = rt.pools.state((pool.namespace, pool.name))
    api = rt.require_kube()
    async with state.lock:
        if state.assignment is None:  # first pass since the operator started: where did cameras run?
            state.assignment = _assignment_from(await k8s.get_config_map(api, pool.namespace, pool_name(pool)))
        members = _members(kwargs.get(POOL_CAMERAS), pool.namespace, pool.name)
        assignment = assign(state.assignment, members, pool.spec.cameras_per_worker)
        contracts, errors = build_pool_contracts(pool, members, assignment, rt.settings)
        config_map = build_pool_config_map(pool, assignment, contracts)
        stateful_set = build_pool_stateful_set(pool, len(assignment), pool_secrets(pool, members.values()), rt.settings)
        for kind, manifest, ensure in (
            ("configmap", config_map, k8s.ensure_config_map),
            ("statefulset", stateful_set, k8s.ensure_stateful_set),
        ):
            digest = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()
            if state.applied.get(kind) != digest:
                await ensure(api, manifest, owner_uid=pool.metadata.uid)
                state.applied[kind] = digest
        if assignment != state.assignment:
            log.info(
                "pool %s/%s: %d camera(s) on %d worker(s)",
                pool.namespace,
                pool.name,
                sum(len(m) for m in assignment),
                len(assignment),
            )
        state.assignment = assignment
        workers = [worker_pod_name(pool, n) for n in range(len(assignment))]
        previous = pool.status if state.status is None else state.status
        status = pool_status(
            assignment=assignment,
            workers=workers,
            ready=_ready_pods(kwargs.get(POOL_PODS), pool.namespace, workers),
            per_worker=pool.spec.cameras_per_worker,
            generation=pool.metadata.generation,
            previous=previous,
            now=datetime.datetime.now(datetime.UTC),
            invalid=errors,
        )
        if previous is None or dump(status) != dump(previous):
            await k8s.patch_pool_status(api, pool.namespace, pool.name, dump(status))
        state.status = status


async def pool_daemon(body: kopf.Body, **kwargs: Any) -> None:
    """One per CameraPool: reconcile at once, then whenever a camera or the pool changes.

    A pass that no event woke (every status interval) applies the children again even if
    nothing changed, so a StatefulSet or ConfigMap removed or edited by hand comes back.
    The pool's memory goes with its daemon: a pool created again under the same name starts
    from its live ConfigMap, never from what the operator applied to the one before.
    """
    rt = current_runtime()
    meta = body.get("metadata", {})
    key = (meta.get("namespace", ""), meta.get("name", ""))
    state = rt.pools.state(key)
    attempt = 0
    try:
        while True:
            state.wake.clear()
            try:
                pool = CameraPool.model_validate(dict(body))
                pool = pool.model_copy(update={"status": _status_of(body)})
                await reconcile_pool(rt, pool, kwargs)
                attempt = 0
                timeout = rt.settings.status_interval
            except ValidationError as exc:
                log.warning("pool %s/%s: invalid spec: %s", *key, redact(str(exc)))
                timeout = rt.settings.status_interval
            except (k8s.KubeError, OSError, TimeoutError) as exc:
                attempt += 1
                timeout = retry_delay(rt.settings.retry_delay, attempt - 1)
                log.warning(
                    "pool %s/%s: applying the pool failed (retry in %.0fs): %s", *key, timeout, redact(str(exc))
                )
            try:
                await asyncio.wait_for(state.wake.wait(), timeout=timeout)
            except TimeoutError:
                state.applied.clear()  # nothing changed: check the live children on this pass
            await asyncio.sleep(DEBOUNCE_S)
    finally:
        rt.pools.states.pop(key, None)


def _status_of(body: kopf.Body) -> CameraPoolStatus | None:
    try:
        return CameraPoolStatus.model_validate(dict(body.get("status") or {}))
    except ValidationError:
        return None


def pool_event(body: kopf.Body, **_: Any) -> None:
    """A pool's spec changed (or it came or went): wake its daemon."""
    meta = body.get("metadata", {})
    current_runtime().pools.wake((meta.get("namespace", ""), meta.get("name", "")))


def camera_event(body: kopf.Body, type: str | None, **_: Any) -> None:
    """A camera joined, left, changed or was deleted: wake the daemon of every pool concerned."""
    meta = body.get("metadata", {})
    namespace, name = meta.get("namespace", ""), meta.get("name", "")
    gone = type == "DELETED" or bool(meta.get("deletionTimestamp"))
    pool = (body.get("spec") or {}).get("pool")
    now = None if gone or not pool else (str(pool), meta.get("generation"))
    pools = current_runtime().pools
    before = pools.members.get((namespace, name))
    if before == now:
        return
    if now is None:
        pools.members.pop((namespace, name), None)
    else:
        pools.members[namespace, name] = now
    for entry in (before, now):
        if entry is not None:
            pools.wake((namespace, entry[0]))


# -- a pooled camera, seen from the Camera handlers -------------------------------------------------


def _pool_state(rt: Runtime, camera: Camera) -> PoolState | None:
    return rt.pools.states.get((camera.namespace, camera.spec.pool or ""))


def pooled_worker_view(rt: Runtime, camera: Camera, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The camera's worker as the status sees a Deployment: available while its pool pod is ready (no I/O)."""
    state = _pool_state(rt, camera)
    if state is None or state.assignment is None:
        return None
    ordinal = worker_of(state.assignment, camera.name)
    if ordinal is None:
        return None
    pod = worker_pod_name(camera.spec.pool or "", ordinal)
    ready = bool(_one(kwargs.get(POOL_PODS), (camera.namespace, pod)))
    return {"metadata": {"name": pod}, "status": {"availableReplicas": 1 if ready else 0}}


def pooled_pending(camera: Camera, kwargs: dict[str, Any]) -> str:
    """Why a pooled camera has no worker yet (for its WorkerAvailable condition)."""
    pool = camera.spec.pool or ""
    if _one(kwargs.get(POOLS), (camera.namespace, pool)) is None:
        return f"CameraPool {pool} does not exist in namespace {camera.namespace}"
    return f"waiting for CameraPool {pool} to assign the camera a worker"


async def pooled_worker(
    rt: Runtime, camera: Camera, kwargs: dict[str, Any], *, may_have_own: bool = True
) -> dict[str, Any] | None:
    """Reconcile a pooled camera: check its contract renders, retire a Deployment it had, return its worker view.

    ``may_have_own`` is False when the camera cannot have had a Deployment (created in a pool, or
    already pooled before this change): its own worker is then not looked up.
    Raises :class:`~camops_operator.builders.contract.ContractError` when the camera cannot be served by its pool.
    """
    pool = _one(kwargs.get(POOLS), (camera.namespace, camera.spec.pool or ""))
    if isinstance(pool, CameraPool):
        pooled_contract(camera, pool, rt.settings)
    api = rt.require_kube()
    if may_have_own and await k8s.get_deployment(api, camera.namespace, worker_name(camera)) is not None:
        # it had its own worker: scale it to 0 and let the drain job upload what that worker queued
        alone = camera.model_copy(update={"spec": camera.spec.model_copy(update={"pool": None, "paused": True})})
        config_map = build_worker_config_map(alone, rt.settings)
        await k8s.ensure_config_map(api, config_map, owner_uid=camera.metadata.uid)
        await k8s.ensure_deployment(
            api, build_worker_deployment(alone, rt.settings, config_map), owner_uid=camera.metadata.uid
        )
        cron = build_drain_cron_job(alone, rt.settings)
        if cron is not None:
            await k8s.ensure_cron_job(api, cron, owner_uid=camera.metadata.uid)
    rt.pools.wake((camera.namespace, camera.spec.pool or ""))
    return pooled_worker_view(rt, camera, kwargs)


def register(registry: kopf.OperatorRegistry, settings: OperatorSettings) -> None:
    del settings
    kopf.index(GROUP, VERSION, "camerapools", id=POOLS, registry=registry)(pools_index)
    kopf.index(GROUP, VERSION, "cameras", id=POOL_CAMERAS, registry=registry)(pool_cameras_index)
    kopf.index("", "v1", "pods", id=POOL_PODS, labels={POOL_LABEL: kopf.PRESENT}, registry=registry)(pool_pods_index)
    kopf.daemon(GROUP, VERSION, "camerapools", id="pool", registry=registry, cancellation_timeout=5.0)(pool_daemon)
    kopf.on.event(GROUP, VERSION, "camerapools", id="pool-wake", registry=registry)(pool_event)
    kopf.on.event(GROUP, VERSION, "cameras", id="pool-membership", registry=registry)(camera_event)

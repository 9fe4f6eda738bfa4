"""A CameraPool's children: the assignment ConfigMap ``<pool>-pool`` and the StatefulSet ``<pool>-pool``.

Pure. The ConfigMap holds one process contract per worker ordinal (``worker-<n>.json``,
a :class:`camops_workers.contract.ProcessConfig`) plus ``assignment.json`` (the cameras of
each ordinal). The pods mount the whole ConfigMap as a folder (never ``subPath``) so the
kubelet swaps the files in place and the workers reload without a restart: the pod
template depends only on the pool's spec and the set of Secrets its cameras read, never on
which camera is where. Each worker has its own queue claim (``volumeClaimTemplates``).

Secrets are mounted whole, one folder per Secret (``/etc/camops/secrets/<name>/<key>``);
a camera joining with a Secret no other camera of the pool reads rolls the pool's pods once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from camops_operator.api.camera import Camera
from camops_operator.api.pool import CameraPool
from camops_operator.assignment import Assignment
from camops_operator.builders.common import (
    COMPONENT_LABEL,
    MANAGED_BY,
    child_name,
    container_security,
    label_value,
    pod_security,
    short_hash,
)
from camops_operator.builders.contract import (
    QUEUE_FILL_RATIO,
    ContractEnvironment,
    ContractError,
    build_worker_contract,
    token_secrets,
)
from camops_operator.builders.worker import cluster_environment
from camops_operator.settings import OperatorSettings
from camops_workers.contract import CredentialRef, ProcessConfig, QueueConfig, StorageConfig, WorkerConfig

__all__ = [
    "ASSIGNMENT_KEY",
    "POOL_COMPONENT",
    "POOL_DIR",
    "POOL_LABEL",
    "SECRETS_DIR",
    "build_pool_config_map",
    "build_pool_contracts",
    "build_pool_stateful_set",
    "effective_camera",
    "pool_name",
    "pool_secrets",
    "pooled_contract",
    "worker_file",
    "worker_pod_name",
]

POOL_LABEL = "camops.io/pool"
POOL_COMPONENT = "pool-worker"
#: Where the pods mount the assignment ConfigMap (the whole folder, so the kubelet updates it).
POOL_DIR = "/etc/camops/pool"
#: Where every Secret the pool's cameras read is mounted, one folder per Secret.
SECRETS_DIR = "/etc/camops/secrets"
ASSIGNMENT_KEY = "assignment.json"
STORAGE_VOLUME = "storage-credentials"
STORAGE_DIR = "/etc/camops/storage"
QUEUE_VOLUME = "queue"
#: StatefulSet names become pod names with ``-<ordinal>`` and a controller-revision label: keep room.
STATEFULSET_NAME_LIMIT = 52


def pool_name(pool: CameraPool | str) -> str:
    """Name of the pool's StatefulSet and ConfigMap: ``<pool>-pool``."""
    return child_name(pool if isinstance(pool, str) else pool.name, "pool", STATEFULSET_NAME_LIMIT)


def worker_pod_name(pool: CameraPool | str, ordinal: int) -> str:
    return f"{pool_name(pool)}-{ordinal}"


def worker_file(ordinal: int) -> str:
    """The ConfigMap key (and file name) of one worker's process contract."""
    return f"worker-{ordinal}.json"


def _labels(pool: CameraPool) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "camops",
        "app.kubernetes.io/managed-by": MANAGED_BY,
        COMPONENT_LABEL: POOL_COMPONENT,
        POOL_LABEL: label_value(pool.name),
    }


def _metadata(pool: CameraPool, name: str) -> dict[str, Any]:
    if not pool.metadata.uid:
        raise ValueError(f"CameraPool {pool.namespace}/{pool.name} has no metadata.uid: cannot own children")
    owner = {
        "apiVersion": pool.apiVersion,
        "kind": pool.kind,
        "name": pool.name,
        "uid": pool.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
    return {"name": name, "namespace": pool.namespace, "labels": _labels(pool), "ownerReferences": [owner]}


def effective_camera(camera: Camera, pool: CameraPool) -> Camera:
    """The camera as its pool worker serves it: storage, analysis and events inherited from the pool.

    Bucket, endpoint and storage Secret are the pool's (a worker has one uploader pool); prefix
    and layout are the camera's when it set them, else the pool's. A camera that names another
    bucket, endpoint or Secret than its pool cannot be pooled (:class:`ContractError`).
    """
    spec = camera.spec
    pool_storage = pool.spec.storage
    storage = spec.storage
    if pool_storage is not None:
        for field in ("bucket", "endpoint", "secret_ref"):
            mine, theirs = getattr(storage, field), getattr(pool_storage, field)
            if mine is not None and mine != theirs:
                raise ContractError(
                    f"spec.storage.{field} differs from CameraPool {pool.name}'s: a pooled camera stores where "
                    "its pool does (set it on the CameraPool)"
                )
        mine_set = storage.model_fields_set
        storage = pool_storage.model_copy(
            update={f: getattr(storage, f) for f in ("prefix", "layout") if f in mine_set}
        )
    elif any(getattr(storage, f) is not None for f in ("bucket", "endpoint", "secret_ref")):
        raise ContractError(
            f"spec.storage.bucket, endpoint and secretRef of a pooled camera belong on CameraPool {pool.name}"
        )
    update = {
        "storage": storage,
        "analysis": spec.analysis if spec.analysis is not None else pool.spec.analysis,
        "events": spec.events if spec.events is not None else pool.spec.events,
    }
    return camera.model_copy(update={"spec": spec.model_copy(update=update)})


def _secret_file(secret: str, key: str) -> CredentialRef:
    return CredentialRef(file=f"{SECRETS_DIR}/{secret}/{key}")


def _camera_secrets(camera: Camera) -> dict[str, tuple[str, str]]:
    """purpose → (Secret, key) of every Secret key a camera's worker reads."""
    out: dict[str, tuple[str, str]] = {}
    creds = camera.spec.source.credentials_secret_ref
    if creds is not None and camera.spec.source.via == "direct":
        out["username"] = (creds.name, creds.username_key)
        out["password"] = (creds.name, creds.password_key)
    for purpose, secret, key in token_secrets(camera):
        out[purpose] = (secret, key)
    return out


def _with_secret_files(contract: WorkerConfig, secrets: Mapping[str, tuple[str, str]]) -> WorkerConfig:
    """Point the contract's credential references at the whole-Secret mounts of the pool's pods."""
    ref = {purpose: _secret_file(*where) for purpose, where in secrets.items()}
    source = contract.source
    if "username" in ref:
        source = source.model_copy(update={"username": ref["username"], "password": ref["password"]})
    update: dict[str, Any] = {"source": source}
    if contract.analysis is not None and "analysis" in ref:
        update["analysis"] = contract.analysis.model_copy(update={"bearer_token": ref["analysis"]})
    events = contract.events
    if events is not None:
        if events.webhook is not None and "events-webhook" in ref:
            events = events.model_copy(
                update={"webhook": events.webhook.model_copy(update={"bearer_token": ref["events-webhook"]})}
            )
        if events.nats is not None and "events-nats" in ref:
            events = events.model_copy(update={"nats": events.nats.model_copy(update={"token": ref["events-nats"]})})
        update["events"] = events
    return contract.model_copy(update=update)


def _queue(pool: CameraPool, settings: OperatorSettings) -> QueueConfig:
    spec = pool.spec.offline_queue
    max_bytes = spec.max_bytes.bytes if spec.max_bytes else int(spec.size.bytes * QUEUE_FILL_RATIO)
    extra = {"max_items": spec.max_items} if spec.max_items is not None else {}
    return QueueConfig(
        directory=settings.queue_mount_path,
        max_bytes=max_bytes,
        max_age_s=spec.max_age.seconds,
        overflow=spec.overflow,
        **extra,
    )


def _storage(pool: CameraPool, settings: OperatorSettings) -> StorageConfig:
    base = cluster_environment(settings).storage
    spec = pool.spec.storage
    if spec is None:
        return base
    updates = {k: v for k, v in (("bucket", spec.bucket), ("endpoint", spec.endpoint)) if v}
    return base.model_copy(update=updates)


def pool_secrets(pool: CameraPool, cameras: Iterable[Camera]) -> list[str]:
    """The camera Secrets (credentials, tokens) the pool's pods mount whole, sorted."""
    return sorted({secret for cam in cameras for secret, _ in _camera_secrets(effective_camera(cam, pool)).values()})


def build_pool_contracts(
    pool: CameraPool, cameras: Mapping[str, Camera], assignment: Assignment, settings: OperatorSettings
) -> tuple[list[ProcessConfig], dict[str, str]]:
    """One process contract per worker ordinal, and why a camera could not be rendered (by name).

    Paused cameras and cameras that cannot be rendered keep their slot but are not served.
    """
    env = cluster_environment(settings)
    queue = _queue(pool, settings)
    storage = _storage(pool, settings)
    out: list[ProcessConfig] = []
    errors: dict[str, str] = {}
    for ordinal, members in enumerate(assignment):
        contracts = []
        for name in members:
            camera = cameras[name]
            if camera.spec.paused:
                continue
            try:
                contract = pooled_contract(camera, pool, settings, env=env)
            except ContractError as exc:
                errors[name] = str(exc)
                continue
            contracts.append(contract.model_copy(update={"queue": queue}))
        out.append(
            ProcessConfig(
                pool=pool.name,
                worker=worker_pod_name(pool, ordinal),
                cameras=contracts,
                queue=queue,
                storage=storage,
                http_port=settings.worker_http_port,
                log_level=settings.log_level,
            )
        )
    return out, errors


def pooled_contract(
    camera: Camera, pool: CameraPool, settings: OperatorSettings, *, env: ContractEnvironment | None = None
) -> WorkerConfig:
    """One pooled camera's contract, its credentials read from the pool's Secret mounts (raises ContractError)."""
    effective = effective_camera(camera, pool)
    contract = build_worker_contract(effective, env or cluster_environment(settings))
    return _with_secret_files(contract, _camera_secrets(effective))


def build_pool_config_map(
    pool: CameraPool, assignment: Assignment, contracts: Sequence[ProcessConfig]
) -> dict[str, Any]:
    """ConfigMap ``<pool>-pool``: ``assignment.json`` and one compact ``worker-<n>.json`` per ordinal."""
    data = {ASSIGNMENT_KEY: json.dumps([list(members) for members in assignment], separators=(",", ":"))}
    for ordinal, contract in enumerate(contracts):
        payload = contract.model_dump(mode="json", exclude_defaults=True)
        payload["cameras"] = [c.model_dump(mode="json", exclude_defaults=True) for c in contract.cameras]
        data[worker_file(ordinal)] = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _metadata(pool, pool_name(pool)), "data": data}


def _secret_volume(secret: str) -> tuple[dict[str, Any], dict[str, Any]]:
    volume = f"secret-{short_hash(secret, 10)}"
    return (
        {"name": volume, "secret": {"secretName": secret, "defaultMode": 0o440}},
        {"name": volume, "mountPath": f"{SECRETS_DIR}/{secret}", "readOnly": True},
    )


def _storage_secret_volume(pool: CameraPool, settings: OperatorSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    ref = pool.spec.storage.secret_ref if pool.spec.storage is not None else None
    name, access, secret = (
        (ref.name, ref.access_key_key, ref.secret_key_key)
        if ref
        else (settings.storage_secret, "accessKey", "secretKey")
    )
    items = [{"key": access, "path": "accessKey"}, {"key": secret, "path": "secretKey"}]
    return (
        {"name": STORAGE_VOLUME, "secret": {"secretName": name, "items": items, "defaultMode": 0o440}},
        {"name": STORAGE_VOLUME, "mountPath": STORAGE_DIR, "readOnly": True},
    )


def _placement(pool: CameraPool, settings: OperatorSettings) -> dict[str, Any]:
    spec = pool.spec
    out: dict[str, Any] = {}
    account = spec.service_account_name or settings.worker_service_account
    if account:
        out["serviceAccountName"] = account
    if spec.node_selector:
        out["nodeSelector"] = dict(spec.node_selector)
    if spec.tolerations:
        out["tolerations"] = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in spec.tolerations]
    if spec.affinity:
        out["affinity"] = dict(spec.affinity)
    return out


def build_pool_stateful_set(
    pool: CameraPool, replicas: int, secrets: Sequence[str], settings: OperatorSettings
) -> dict[str, Any]:
    """StatefulSet ``<pool>-pool``: ``replicas`` workers, Parallel, one queue claim each.

    ``secrets`` are the camera Secrets to mount (:func:`pool_secrets`).
    """
    name = pool_name(pool)
    labels = _labels(pool)
    storage_volume, storage_mount = _storage_secret_volume(pool, settings)
    volumes: list[dict[str, Any]] = [
        {"name": "pool", "configMap": {"name": name}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
        storage_volume,
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "pool", "mountPath": POOL_DIR, "readOnly": True},
        {"name": QUEUE_VOLUME, "mountPath": settings.queue_mount_path},
        {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - the pod's own scratch space
        storage_mount,
    ]
    for secret in secrets:
        volume, mount = _secret_volume(secret)
        volumes.append(volume)
        mounts.append(mount)
    container: dict[str, Any] = {
        "name": "worker",
        "image": pool.spec.image or settings.worker_image,
        "imagePullPolicy": settings.worker_image_pull_policy,
        "command": ["camops", "capture", "--pool-dir", POOL_DIR],
        "env": [{"name": "CAMOPS_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "ports": [{"name": "http", "containerPort": settings.worker_http_port, "protocol": "TCP"}],
        "startupProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 2, "failureThreshold": 30},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10, "failureThreshold": 3},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5, "failureThreshold": 2},
        "securityContext": container_security(),
        "volumeMounts": mounts,
    }
    resources = pool.spec.resources
    if resources is not None:
        wanted = {k: dict(v) for k, v in (("requests", resources.requests), ("limits", resources.limits)) if v}
        if wanted:
            container["resources"] = wanted
    claim: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": pool.spec.offline_queue.size}},
    }
    if pool.spec.offline_queue.storage_class_name:
        claim["storageClassName"] = pool.spec.offline_queue.storage_class_name
    pod_spec: dict[str, Any] = {
        "securityContext": pod_security(),
        "terminationGracePeriodSeconds": 30,
        "containers": [container],
        "volumes": volumes,
        **_placement(pool, settings),
    }
    selector = {k: labels[k] for k in (COMPONENT_LABEL, POOL_LABEL)}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _metadata(pool, name),
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "RollingUpdate"},
            "revisionHistoryLimit": 2,
            "selector": {"matchLabels": selector},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "volumeClaimTemplates": [
                {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": QUEUE_VOLUME}, "spec": claim}
            ],
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(settings.worker_http_port),
                    },
                },
                "spec": pod_spec,
            },
        },
    }

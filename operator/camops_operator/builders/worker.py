"""The capture worker: its ConfigMap (the rendered contract) and its Deployment.

The contract's hash goes into the pod template, so any change to what the
worker is told rolls the worker; credentials stay in Secrets, mounted as files.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from camops_operator.api.camera import Camera
from camops_operator.builders.common import (
    child_name,
    container_security,
    image,
    labels,
    metadata,
    pod_placement,
    pod_security,
)
from camops_operator.builders.contract import (
    CAMERA_CREDENTIALS_DIR,
    STORAGE_CREDENTIALS_DIR,
    TOKENS_DIR,
    ContractEnvironment,
    CredentialLocation,
    build_worker_contract,
    token_secrets,
)
from camops_operator.builders.queue import QUEUE_VOLUME, queue_volume
from camops_operator.settings import OperatorSettings
from camops_workers.contract import (
    CredentialRef,
    EventsConfig,
    NatsSinkConfig,
    StorageConfig,
    WebhookSinkConfig,
    WorkerConfig,
)

__all__ = [
    "CONFIG_FILE",
    "CONTRACT_HASH_ANNOTATION",
    "SecretMount",
    "SecretUse",
    "build_worker_config_map",
    "build_worker_deployment",
    "cluster_environment",
    "contract_json",
    "fleet_events",
    "secret_mounts",
    "secret_uses",
    "storage_secret",
    "worker_name",
]

CONFIG_FILE = "/etc/camops/worker.json"
CONFIG_KEY = "worker.json"
CONTRACT_HASH_ANNOTATION = "camops.io/contract-hash"
WORKER_COMPONENT = "worker"


@dataclass(frozen=True)
class SecretMount:
    """One Secret mounted read-only as files: ``items`` maps Secret keys to file names."""

    volume: str
    secret: str
    items: tuple[tuple[str, str], ...]
    mount_path: str

    def volume_spec(self) -> dict[str, Any]:
        return {
            "name": self.volume,
            "secret": {
                "secretName": self.secret,
                "items": [{"key": key, "path": path} for key, path in self.items],
                "defaultMode": 0o440,
            },
        }

    def mount_spec(self) -> dict[str, Any]:
        return {"name": self.volume, "mountPath": self.mount_path, "readOnly": True}


def worker_name(camera: Camera) -> str:
    return child_name(camera.name, "worker")


def cluster_environment(settings: OperatorSettings) -> ContractEnvironment:
    """The worker's world inside the cluster, from the operator's settings."""
    return ContractEnvironment(
        storage=StorageConfig(
            kind="s3",
            endpoint=settings.storage_endpoint,
            secure=settings.storage_secure,
            region=settings.storage_region,
            bucket=settings.storage_bucket,
            access_key=CredentialRef(file=f"{STORAGE_CREDENTIALS_DIR}/accessKey"),
            secret_key=CredentialRef(file=f"{STORAGE_CREDENTIALS_DIR}/secretKey"),
        ),
        queue_directory=settings.queue_mount_path,
        camera_credentials=CredentialLocation(directory=CAMERA_CREDENTIALS_DIR),
        mediamtx_rtsp_url=settings.mediamtx_rtsp_url,
        http_port=settings.worker_http_port,
        report_status=True,
        log_level=settings.log_level,
        default_events=fleet_events(settings),
    )


def fleet_events(settings: OperatorSettings) -> EventsConfig | None:
    """The operator-wide event sinks for Cameras that name none (``spec.events``), or None."""
    if not settings.events_webhook_url and not settings.events_nats_url:
        return None
    webhook = (
        WebhookSinkConfig(url=settings.events_webhook_url, mode=settings.events_webhook_mode)
        if settings.events_webhook_url
        else None
    )
    nats = (
        NatsSinkConfig(servers=[settings.events_nats_url], subject=settings.events_nats_subject)
        if settings.events_nats_url
        else None
    )
    return EventsConfig(webhook=webhook, nats=nats)


def storage_secret(camera: Camera, settings: OperatorSettings) -> tuple[str, str, str]:
    """(Secret name, access key's key, secret key's key) of the camera's storage credentials."""
    ref = camera.spec.storage.secret_ref
    if ref is not None:
        return ref.name, ref.access_key_key, ref.secret_key_key
    return settings.storage_secret, "accessKey", "secretKey"


def secret_mounts(camera: Camera, settings: OperatorSettings) -> list[SecretMount]:
    """Every Secret the worker reads, as file mounts (the contract names the files)."""
    name, access, secret = storage_secret(camera, settings)
    mounts = [
        SecretMount(
            "storage-credentials", name, ((access, "accessKey"), (secret, "secretKey")), STORAGE_CREDENTIALS_DIR
        )
    ]
    creds = camera.spec.source.credentials_secret_ref
    if creds is not None and camera.spec.source.via == "direct":
        mounts.append(
            SecretMount(
                "camera-credentials",
                creds.name,
                ((creds.username_key, "username"), (creds.password_key, "password")),
                CAMERA_CREDENTIALS_DIR,
            )
        )
    for purpose, secret_name, key in token_secrets(camera):  # spec.analysis / spec.events tokens
        mounts.append(SecretMount(f"{purpose}-token", secret_name, ((key, "token"),), f"{TOKENS_DIR}/{purpose}"))
    return mounts


_TOKEN_FIELDS = {
    "analysis": "spec.analysis",
    "events-webhook": "spec.events.webhook",
    "events-nats": "spec.events.nats",
}


@dataclass(frozen=True)
class SecretUse:
    """One Secret a Camera names: the spec field naming it, the Secret and the keys read from it."""

    field: str
    secret: str
    keys: tuple[str, ...]


def secret_uses(camera: Camera, settings: OperatorSettings, *, storage: bool = True) -> list[SecretUse]:
    """Every Secret the Camera's worker mounts or its MediaMTX path needs (``storage``: include the store's)."""
    out: list[SecretUse] = []
    creds = camera.spec.source.credentials_secret_ref
    if creds is not None:
        out.append(SecretUse("spec.source.credentialsSecretRef", creds.name, (creds.username_key, creds.password_key)))
    if storage:
        name, access, secret = storage_secret(camera, settings)
        own = camera.spec.storage.secret_ref is not None
        out.append(
            SecretUse("spec.storage.secretRef" if own else "the operator's storage Secret", name, (access, secret))
        )
    for purpose, secret_name, key in token_secrets(camera):
        out.append(SecretUse(f"{_TOKEN_FIELDS.get(purpose, purpose)} token", secret_name, (key,)))
    return out


def contract_json(contract: WorkerConfig) -> str:
    """The contract as the worker reads it: stable JSON (sorted keys) so equal contracts hash equally."""
    return json.dumps(contract.model_dump(mode="json"), sort_keys=True, indent=2)


def build_worker_config_map(camera: Camera, settings: OperatorSettings) -> dict[str, Any]:
    """ConfigMap ``<camera>-worker`` holding ``worker.json`` (raises ContractError)."""
    contract = build_worker_contract(camera, cluster_environment(settings))
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(camera, worker_name(camera), WORKER_COMPONENT),
        "data": {CONFIG_KEY: contract_json(contract)},
    }


def _contract_hash(config_map: dict[str, Any]) -> str:
    return hashlib.sha256(config_map["data"][CONFIG_KEY].encode()).hexdigest()[:16]


def _container(camera: Camera, settings: OperatorSettings, mounts: list[SecretMount]) -> dict[str, Any]:
    spec = camera.spec.worker
    port = settings.worker_http_port
    container: dict[str, Any] = {
        "name": WORKER_COMPONENT,
        "image": image(camera, settings),
        "imagePullPolicy": settings.worker_image_pull_policy,
        "command": ["camops", "capture", "--config", CONFIG_FILE],
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "startupProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 2, "failureThreshold": 30},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10, "failureThreshold": 3},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5, "failureThreshold": 2},
        "securityContext": container_security(),
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_FILE, "subPath": CONFIG_KEY, "readOnly": True},
            {"name": QUEUE_VOLUME, "mountPath": settings.queue_mount_path},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - the pod's own scratch space
            *(mount.mount_spec() for mount in mounts),
        ],
    }
    if spec.resources is not None:
        resources = {
            k: dict(v) for k, v in (("requests", spec.resources.requests), ("limits", spec.resources.limits)) if v
        }
        if resources:
            container["resources"] = resources
    return container


def build_worker_deployment(camera: Camera, settings: OperatorSettings, config_map: dict[str, Any]) -> dict[str, Any]:
    """Deployment ``<camera>-worker``: one replica (0 while paused), Recreate, restricted security."""
    mounts = secret_mounts(camera, settings)
    pod_labels = labels(camera, WORKER_COMPONENT)
    pod_spec: dict[str, Any] = {
        "securityContext": pod_security(),
        "terminationGracePeriodSeconds": 30,
        "containers": [_container(camera, settings, mounts)],
        "volumes": [
            {"name": "config", "configMap": {"name": config_map["metadata"]["name"]}},
            queue_volume(camera),
            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
            *(mount.volume_spec() for mount in mounts),
        ],
    }
    pod_spec.update(pod_placement(camera, settings))
    selector = {k: pod_labels[k] for k in ("app.kubernetes.io/component", "camops.io/camera")}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(camera, worker_name(camera), WORKER_COMPONENT),
        "spec": {
            "replicas": 0 if camera.spec.paused else 1,
            "strategy": {"type": "Recreate"},
            "revisionHistoryLimit": 2,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {
                    "labels": pod_labels,
                    "annotations": {
                        CONTRACT_HASH_ANNOTATION: _contract_hash(config_map),
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(settings.worker_http_port),
                    },
                },
                "spec": pod_spec,
            },
        },
    }

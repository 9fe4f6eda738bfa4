"""Names, labels, owner references and pod security shared by every builder."""

from __future__ import annotations

import hashlib
from typing import Any

from camops_operator.api.camera import Camera
from camops_operator.settings import OperatorSettings

__all__ = [
    "CAMERA_LABEL",
    "COMPONENT_LABEL",
    "MANAGED_BY",
    "child_name",
    "container_security",
    "label_value",
    "labels",
    "metadata",
    "owner_reference",
    "pod_security",
    "short_hash",
]

CAMERA_LABEL = "camops.io/camera"
COMPONENT_LABEL = "app.kubernetes.io/component"
MANAGED_BY = "camops"
#: Non-root user of the camops image.
RUN_AS = 10001
MAX_LABEL_VALUE = 63


def short_hash(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def label_value(text: str) -> str:
    """``text`` if it fits a label value (63 characters), else a prefix plus a hash of the whole."""
    if len(text) <= MAX_LABEL_VALUE:
        return text
    return f"{text[: MAX_LABEL_VALUE - 9].rstrip('-._')}-{short_hash(text)}"


def child_name(owner: str, suffix: str, limit: int = 253) -> str:
    """``<owner>-<suffix>``, shortened with a hash when longer than ``limit`` (CronJobs allow 52)."""
    name = f"{owner}-{suffix}"
    if len(name) <= limit:
        return name
    keep = limit - len(suffix) - 10
    return f"{owner[:keep].rstrip('-.')}-{short_hash(owner)}-{suffix}"


def labels(camera: Camera, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "camops",
        "app.kubernetes.io/managed-by": MANAGED_BY,
        COMPONENT_LABEL: component,
        CAMERA_LABEL: label_value(camera.name),
    }


def owner_reference(camera: Camera) -> dict[str, Any]:
    """The Camera as controlling owner (so deletion cascades through the garbage collector)."""
    if not camera.metadata.uid:
        raise ValueError(f"Camera {camera.namespace}/{camera.name} has no metadata.uid: cannot own children")
    return {
        "apiVersion": camera.apiVersion,
        "kind": camera.kind,
        "name": camera.name,
        "uid": camera.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def metadata(camera: Camera, name: str, component: str, *, owned: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": camera.namespace, "labels": labels(camera, component)}
    if owned:
        meta["ownerReferences"] = [owner_reference(camera)]
    return meta


def pod_security() -> dict[str, Any]:
    """The restricted Pod Security Standard, at pod level."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security() -> dict[str, Any]:
    """The restricted Pod Security Standard, at container level."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def image(camera: Camera, settings: OperatorSettings) -> str:
    return camera.spec.worker.image or settings.worker_image


def pod_placement(camera: Camera, settings: OperatorSettings) -> dict[str, Any]:
    """Service account, node selector and tolerations shared by every pod of a camera (worker and drain).

    The drain job must land where the worker's queue volume can be mounted, so both take
    the Camera's placement.
    """
    placement: dict[str, Any] = {}
    if settings.worker_service_account:
        placement["serviceAccountName"] = settings.worker_service_account
    if camera.spec.worker.node_selector:
        placement["nodeSelector"] = dict(camera.spec.worker.node_selector)
    if camera.spec.worker.tolerations:
        placement["tolerations"] = [
            t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in camera.spec.worker.tolerations
        ]
    return placement

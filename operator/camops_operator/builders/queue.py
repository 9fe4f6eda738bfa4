"""The offline queue's volume: a PersistentVolumeClaim ``<camera>-queue``, or an emptyDir."""

from __future__ import annotations

from typing import Any

from camops_operator.api.camera import Camera
from camops_operator.builders.common import child_name, metadata

__all__ = ["QUEUE_VOLUME", "build_queue_pvc", "queue_claim_name", "queue_volume"]

QUEUE_VOLUME = "queue"


def queue_claim_name(camera: Camera) -> str:
    return child_name(camera.name, "queue")


def build_queue_pvc(camera: Camera) -> dict[str, Any] | None:
    """The claim, or None when the queue lives in an emptyDir.

    With ``keepOnDelete`` the claim carries no owner reference, so it outlives the Camera.
    """
    spec = camera.spec.offline_queue
    if spec.volume != "persistentVolumeClaim":
        return None
    claim: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": spec.size}},
    }
    if spec.storage_class_name:
        claim["storageClassName"] = spec.storage_class_name
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata(camera, queue_claim_name(camera), "queue", owned=not spec.keep_on_delete),
        "spec": claim,
    }


def queue_volume(camera: Camera) -> dict[str, Any]:
    """The pod volume the worker (and the drain job) mount the queue from."""
    spec = camera.spec.offline_queue
    if spec.volume == "persistentVolumeClaim":
        return {"name": QUEUE_VOLUME, "persistentVolumeClaim": {"claimName": queue_claim_name(camera)}}
    return {"name": QUEUE_VOLUME, "emptyDir": {"sizeLimit": spec.size}}

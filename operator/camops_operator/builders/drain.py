"""CronJob ``<camera>-drain``: uploads what a stopped worker left in its queue.

It only runs while no worker serves the queue (the Camera is paused); otherwise
it stays suspended, so two writers never share the volume. The job mounts the
same claim, so the scheduler places it where that volume can be attached.
"""

from __future__ import annotations

from typing import Any

from camops_operator.api.camera import Camera
from camops_operator.builders.common import (
    child_name,
    container_security,
    image,
    metadata,
    pod_placement,
    pod_security,
)
from camops_operator.builders.queue import QUEUE_VOLUME, queue_volume
from camops_operator.builders.worker import storage_secret
from camops_operator.settings import OperatorSettings

__all__ = ["build_drain_cron_job", "drain_name"]

#: Kubernetes limits CronJob names to 52 characters (Job names get a suffix).
CRONJOB_NAME_LIMIT = 52


def drain_name(camera: Camera) -> str:
    return child_name(camera.name, "drain", CRONJOB_NAME_LIMIT)


def _env(camera: Camera, settings: OperatorSettings) -> list[dict[str, Any]]:
    storage = camera.spec.storage
    endpoint = storage.endpoint or settings.storage_endpoint
    secret, access_key, secret_key = storage_secret(camera, settings)
    env: list[dict[str, Any]] = []
    if endpoint:
        env.append({"name": "CAMOPS_STORAGE_ENDPOINT", "value": endpoint})
    env.append({"name": "CAMOPS_STORAGE_BUCKET", "value": storage.bucket or settings.storage_bucket})
    env.append({"name": "CAMOPS_STORAGE_SECURE", "value": "true" if settings.storage_secure else "false"})
    if settings.storage_region:
        env.append({"name": "CAMOPS_STORAGE_REGION", "value": settings.storage_region})
    for name, key in (("CAMOPS_STORAGE_ACCESS_KEY", access_key), ("CAMOPS_STORAGE_SECRET_KEY", secret_key)):
        env.append({"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
    return env


def build_drain_cron_job(camera: Camera, settings: OperatorSettings) -> dict[str, Any] | None:
    """The drain CronJob, or None when the queue lives in an emptyDir (nothing outlives the pod)."""
    if camera.spec.offline_queue.volume != "persistentVolumeClaim":
        return None
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "securityContext": pod_security(),
        "containers": [
            {
                "name": "drain",
                "image": image(camera, settings),
                "imagePullPolicy": settings.worker_image_pull_policy,
                "command": [
                    "camops",
                    "drain",
                    "--queue",
                    settings.queue_mount_path,
                    "--max-seconds",
                    str(settings.drain_max_seconds),
                ],
                "env": _env(camera, settings),
                "securityContext": container_security(),
                "volumeMounts": [
                    {"name": QUEUE_VOLUME, "mountPath": settings.queue_mount_path},
                    {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - the pod's own scratch space
                ],
            }
        ],
        "volumes": [queue_volume(camera), {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
    }
    pod.update(pod_placement(camera, settings))
    meta = metadata(camera, drain_name(camera), "drain")
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": meta,
        "spec": {
            "schedule": settings.drain_schedule,
            "suspend": not camera.spec.paused,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 300,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 2,
            "jobTemplate": {
                "metadata": {"labels": meta["labels"]},
                "spec": {
                    "backoffLimit": 1,
                    "activeDeadlineSeconds": settings.drain_max_seconds + 120,
                    "template": {"metadata": {"labels": meta["labels"]}, "spec": pod},
                },
            },
        },
    }

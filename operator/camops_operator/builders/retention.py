"""CronJob ``<policy>-retention``: runs ``camops retention --policy NAMESPACE/NAME`` on the policy's schedule.

The job reads the policy and the Cameras it selects itself (so a changed selector,
``maxAge`` or ``dryRun`` needs no new CronJob) and reports to the policy's status.
It runs as the workload service account, which the chart allows to list Cameras,
get RetentionPolicies and patch ``retentionpolicies/status``. Runs never overlap
(``Forbid``); a killed run is safe to repeat (see ``camops_workers.retention.job``).

Cameras with their own storage Secret (``spec.storage.secretRef``) are cleaned with it:
the CronJob mounts each such Secret of the Cameras the policy selects (read only,
optional, so one missing Secret never stops the others) in
``STORAGE_SECRETS_DIR/<name>/``; no account reads Secrets through the API for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from camops_operator.api.camera import Camera
from camops_operator.api.retention import RetentionPolicy
from camops_operator.builders.common import (
    COMPONENT_LABEL,
    MANAGED_BY,
    child_name,
    container_security,
    label_value,
    pod_security,
)
from camops_operator.settings import OperatorSettings
from camops_workers.retention.options import STORAGE_SECRETS_DIR_ENV

__all__ = [
    "POLICY_LABEL",
    "STORAGE_SECRETS_DIR",
    "build_retention_cron_job",
    "policy_storage_secrets",
    "retention_command",
    "retention_env",
    "retention_labels",
    "retention_name",
]

#: Kubernetes limits CronJob names to 52 characters (Job names get a suffix).
CRONJOB_NAME_LIMIT = 52
POLICY_LABEL = "camops.io/retention-policy"
COMPONENT = "retention"
#: Where the CronJob mounts the selected Cameras' own storage Secrets, one folder each.
STORAGE_SECRETS_DIR = "/var/run/camops/storage-secrets"
#: Longest one run may take before Kubernetes stops it (the next run carries on where it stopped).
ACTIVE_DEADLINE_S = 6 * 3600


def retention_name(policy: RetentionPolicy) -> str:
    return child_name(policy.metadata.name, "retention", CRONJOB_NAME_LIMIT)


def retention_labels(policy: RetentionPolicy) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "camops",
        "app.kubernetes.io/managed-by": MANAGED_BY,
        COMPONENT_LABEL: COMPONENT,
        POLICY_LABEL: label_value(policy.metadata.name),
    }


def _owner_reference(policy: RetentionPolicy) -> dict[str, Any]:
    if not policy.metadata.uid:
        where = f"{policy.metadata.namespace}/{policy.metadata.name}"
        raise ValueError(f"RetentionPolicy {where} has no metadata.uid: cannot own children")
    return {
        "apiVersion": policy.apiVersion,
        "kind": policy.kind,
        "name": policy.metadata.name,
        "uid": policy.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def retention_command(policy: RetentionPolicy) -> list[str]:
    return ["camops", "retention", "--policy", f"{policy.metadata.namespace}/{policy.metadata.name}"]


def retention_env(settings: OperatorSettings) -> list[dict[str, Any]]:
    """Where storage is and how to log in, as the drain job gets it (credentials from the storage Secret).

    ``camops retention --policy`` reads these as the operator's settings; Cameras
    with their own storage Secret use it instead (mounted, see ``policy_storage_secrets``).
    """
    env: list[dict[str, Any]] = []
    if settings.storage_endpoint:
        env.append({"name": "CAMOPS_STORAGE_ENDPOINT", "value": settings.storage_endpoint})
    env.append({"name": "CAMOPS_STORAGE_BUCKET", "value": settings.storage_bucket})
    env.append({"name": "CAMOPS_STORAGE_SECURE", "value": "true" if settings.storage_secure else "false"})
    if settings.storage_region:
        env.append({"name": "CAMOPS_STORAGE_REGION", "value": settings.storage_region})
    for name, key in (("CAMOPS_STORAGE_ACCESS_KEY", "accessKey"), ("CAMOPS_STORAGE_SECRET_KEY", "secretKey")):
        env.append({"name": name, "valueFrom": {"secretKeyRef": {"name": settings.storage_secret, "key": key}}})
    env.append({"name": "CAMOPS_LOG_LEVEL", "value": settings.log_level})
    return env


def policy_storage_secrets(policy: RetentionPolicy, cameras: Iterable[Camera]) -> list[str]:
    """Names of the storage Secrets of the Cameras ``policy`` selects (same namespace), sorted, once each."""
    return sorted(
        {
            camera.spec.storage.secret_ref.name
            for camera in cameras
            if camera.spec.storage.secret_ref is not None
            and camera.namespace == policy.metadata.namespace
            and policy.spec.selector.matches(dict(camera.metadata.labels))
        }
    )


def _secret_volumes(secrets: Sequence[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(volumes, mounts) for the storage Secrets: ``storage-secret-<n>`` at ``STORAGE_SECRETS_DIR/<name>``."""
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    for index, name in enumerate(secrets):
        volume = f"storage-secret-{index}"
        volumes.append({"name": volume, "secret": {"secretName": name, "optional": True, "defaultMode": 0o440}})
        mounts.append({"name": volume, "mountPath": f"{STORAGE_SECRETS_DIR}/{name}", "readOnly": True})
    return volumes, mounts


def build_retention_cron_job(
    policy: RetentionPolicy, settings: OperatorSettings, storage_secrets: Sequence[str] = ()
) -> dict[str, Any]:
    """The policy's CronJob: its schedule and suspend, never two runs at once, restricted pod security.

    ``storage_secrets``: the selected Cameras' own storage Secrets (``policy_storage_secrets``), mounted.
    """
    labels = retention_labels(policy)
    secret_volumes, secret_mounts = _secret_volumes(storage_secrets)
    env = retention_env(settings)
    if storage_secrets:
        env.append({"name": STORAGE_SECRETS_DIR_ENV, "value": STORAGE_SECRETS_DIR})
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": True,
        "securityContext": pod_security(),
        "containers": [
            {
                "name": COMPONENT,
                "image": settings.worker_image,
                "imagePullPolicy": settings.worker_image_pull_policy,
                "command": retention_command(policy),
                "env": env,
                "securityContext": container_security(),
                "resources": {
                    "requests": {"cpu": "50m", "memory": "128Mi"},
                    "limits": {"memory": "1Gi"},
                },
                "volumeMounts": [
                    {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - the pod's own scratch space
                    *secret_mounts,
                ],
            }
        ],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}, *secret_volumes],
    }
    if settings.worker_service_account:
        pod["serviceAccountName"] = settings.worker_service_account
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": retention_name(policy),
            "namespace": policy.metadata.namespace,
            "labels": labels,
            "ownerReferences": [_owner_reference(policy)],
        },
        "spec": {
            "schedule": policy.spec.schedule,
            "timeZone": "Etc/UTC",
            "suspend": policy.spec.suspend,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": labels},
                "spec": {
                    "backoffLimit": 2,
                    "activeDeadlineSeconds": ACTIVE_DEADLINE_S,
                    "template": {"metadata": {"labels": labels}, "spec": pod},
                },
            },
        },
    }

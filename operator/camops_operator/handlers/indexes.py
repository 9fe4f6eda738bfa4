"""kopf indices: Cameras with a MediaMTX path, and RetentionPolicies (for recordDeleteAfter)."""

from __future__ import annotations

from typing import Any

import kopf
from pydantic import ValidationError

from camops_operator.api.camera import Camera
from camops_operator.api.retention import RetentionPolicy
from camops_operator.settings import OperatorSettings

__all__ = [
    "MEDIA_CAMERAS",
    "RETENTION_POLICIES",
    "live_camera",
    "media_cameras",
    "policies_in",
    "register",
    "retention_policies",
]

MEDIA_CAMERAS = "camops_media_cameras"
RETENTION_POLICIES = "camops_retention_policies"


# An index function returns {} to drop an object from the index: on None, kopf keeps the entry
# it had (a camera whose MediaMTX path was disabled would stay and the drift timer re-add its path).


def live_camera(body: kopf.Body) -> Camera | None:
    """The Camera of an index event, or None when it is being deleted or its spec is not valid."""
    if body.get("metadata", {}).get("deletionTimestamp"):
        return None
    try:
        return Camera.model_validate(dict(body))
    except ValidationError:
        return None


def media_cameras(body: kopf.Body, **_: Any) -> dict[tuple[str, str], Camera]:
    """Cameras that want a MediaMTX path and are not being deleted."""
    camera = live_camera(body)
    if camera is None or not camera.spec.mediamtx.enabled:
        return {}
    return {(camera.namespace, camera.name): camera}


def retention_policies(body: kopf.Body, **_: Any) -> dict[str, RetentionPolicy]:
    """Valid RetentionPolicies by namespace."""
    try:
        policy = RetentionPolicy.model_validate(dict(body))
    except ValidationError:
        return {}
    return {policy.metadata.namespace: policy}


def policies_in(index: Any, namespace: str) -> list[RetentionPolicy]:
    """The policies of one namespace from the kopf index (empty when the index is absent)."""
    if index is None or namespace not in index:
        return []
    return list(index[namespace])


def register(registry: kopf.OperatorRegistry, settings: OperatorSettings) -> None:
    del settings
    kopf.index("camops.io", "v1alpha1", "cameras", id=MEDIA_CAMERAS, registry=registry)(media_cameras)
    kopf.index("camops.io", "v1alpha1", "retentionpolicies", id=RETENTION_POLICIES, registry=registry)(
        retention_policies
    )

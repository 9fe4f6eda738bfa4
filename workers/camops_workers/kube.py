"""The workers' only Kubernetes API caller (synchronous ``kubernetes`` client, no kopf).

Every function declares the API permission it needs with ``@requires``; the Helm
chart's RBAC is checked against ``REQUIRED_PERMISSIONS`` (derived from the code).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

__all__ = [
    "REQUIRED_PERMISSIONS",
    "Permission",
    "get_retention_policy",
    "list_cameras",
    "patch_camera_capture_status",
    "patch_retention_status",
    "requires",
]

P = ParamSpec("P")
R = TypeVar("R")

#: (api group, resource, verb): "" is the core group; resource may be "cameras/status".
Permission = tuple[str, str, str]
REQUIRED_PERMISSIONS: set[Permission] = set()


def requires(group: str, resource: str, *verbs: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Record that the decorated function calls ``verbs`` on ``group/resource``."""

    def mark(func: Callable[P, R]) -> Callable[P, R]:
        REQUIRED_PERMISSIONS.update((group, resource, verb) for verb in verbs)
        perms: set[Permission] = getattr(func, "__camops_permissions__", set())
        perms.update((group, resource, verb) for verb in verbs)
        func.__camops_permissions__ = perms  # type: ignore[attr-defined]
        return func

    return mark


def _api() -> Any:
    """A CustomObjectsApi configured from the pod's service account, else ~/.kube/config."""
    from kubernetes import client, config

    loader: Any = config
    try:
        loader.load_incluster_config()
    except config.ConfigException:
        loader.load_kube_config()
    return client.CustomObjectsApi()


@requires("camops.io", "cameras/status", "patch")
def patch_camera_capture_status(namespace: str, name: str, capture: dict[str, Any]) -> None:
    """Merge-patch ``status.capture`` of one Camera (the capture worker's own summary)."""
    _api().patch_namespaced_custom_object_status(
        group="camops.io",
        version="v1alpha1",
        namespace=namespace,
        plural="cameras",
        name=name,
        body={"status": {"capture": capture}},
    )


# -- retention job: read its policy and the Cameras it selects, report to the policy's status --


@requires("camops.io", "retentionpolicies", "get")
def get_retention_policy(namespace: str, name: str) -> dict[str, Any]:
    """The RetentionPolicy object (kubernetes.client.ApiException, status 404, when missing)."""
    body: dict[str, Any] = _api().get_namespaced_custom_object(
        "camops.io", "v1alpha1", namespace, "retentionpolicies", name
    )
    return body


@requires("camops.io", "cameras", "list")
def list_cameras(namespace: str) -> list[dict[str, Any]]:
    """Every Camera object in ``namespace`` (the selector is applied by the caller)."""
    body: dict[str, Any] = _api().list_namespaced_custom_object("camops.io", "v1alpha1", namespace, "cameras")
    items: list[dict[str, Any]] = body.get("items", [])
    return items


@requires("camops.io", "retentionpolicies/status", "patch")
def patch_retention_status(namespace: str, name: str, status: dict[str, Any]) -> None:
    """Merge-patch the RetentionPolicy's status subresource."""
    _api().patch_namespaced_custom_object_status(
        "camops.io", "v1alpha1", namespace, "retentionpolicies", name, {"status": status}
    )

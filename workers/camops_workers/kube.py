"""The workers' only Kubernetes API caller (synchronous ``kubernetes`` client, no kopf).

Every function declares the API permission it needs with ``@requires``, and where it
acts (``scope``); the Helm chart's RBAC is checked against these declarations, namespace
by namespace, in every install mode (tests/unit/chart/test_rbac.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

__all__ = [
    "OPERATOR_NAMESPACE",
    "REQUIRED_PERMISSIONS",
    "SCOPES",
    "STORAGE_SECRET_COPIES",
    "STORAGE_SECRET_SOURCE",
    "WATCHED",
    "Permission",
    "ScopedPermission",
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
#: (scope, api group, resource, verb).
ScopedPermission = tuple[str, str, str, str]
REQUIRED_PERMISSIONS: set[Permission] = set()
#: Where a call acts: the namespaces that hold Cameras (the operator's watched namespaces, every
#: namespace when it watches all; for a worker or job, its own namespace, which is its Camera's) ...
WATCHED = "watched"
#: ... or the operator's own namespace (its MediaMTX ledger ConfigMap), whatever it watches.
OPERATOR_NAMESPACE = "operator-namespace"
#: With the storage Secret copy on (CAMOPS_STORAGE_SECRET_SOURCE): reading that source Secret in the
#: operator's namespace, and writing its copies into the camera namespaces it names.
STORAGE_SECRET_SOURCE = "storage-secret-source"  # noqa: S105 - a scope's name, not a credential
STORAGE_SECRET_COPIES = "storage-secret-copies"  # noqa: S105 - a scope's name, not a credential
SCOPES = (WATCHED, OPERATOR_NAMESPACE, STORAGE_SECRET_SOURCE, STORAGE_SECRET_COPIES)


def requires(
    group: str, resource: str, *verbs: str, scope: str = WATCHED
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Record that the decorated function calls ``verbs`` on ``group/resource`` in ``scope``."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}: one of {SCOPES}")

    def mark(func: Callable[P, R]) -> Callable[P, R]:
        REQUIRED_PERMISSIONS.update((group, resource, verb) for verb in verbs)
        perms: set[Permission] = getattr(func, "__camops_permissions__", set())
        perms.update((group, resource, verb) for verb in verbs)
        func.__camops_permissions__ = perms  # type: ignore[attr-defined]
        scoped: set[ScopedPermission] = getattr(func, "__camops_scoped_permissions__", set())
        scoped.update((scope, group, resource, verb) for verb in verbs)
        func.__camops_scoped_permissions__ = scoped  # type: ignore[attr-defined]
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
def patch_camera_capture_status(
    namespace: str, name: str, capture: dict[str, Any], *, worker: str | None = None
) -> None:
    """Merge-patch ``status.capture`` of one Camera (the capture worker's own summary), and
    ``status.worker`` (the pod serving it) when given."""
    status: dict[str, Any] = {"capture": capture}
    if worker is not None:
        status["worker"] = worker
    _api().patch_namespaced_custom_object_status(
        group="camops.io",
        version="v1alpha1",
        namespace=namespace,
        plural="cameras",
        name=name,
        body={"status": status},
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

"""The workers' only Kubernetes API caller (synchronous ``kubernetes`` client, no kopf).

Every function declares the API permission it needs with ``@requires``; the Helm
chart's RBAC is checked against ``REQUIRED_PERMISSIONS`` (derived from the code).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

__all__ = ["REQUIRED_PERMISSIONS", "Permission", "requires"]

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

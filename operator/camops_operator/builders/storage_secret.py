"""The copy of the storage credentials Secret the operator keeps in each camera namespace (pure).

With ``CAMOPS_STORAGE_SECRET_SOURCE`` set, the operator reads that Secret in its own namespace and
keeps a copy named ``CAMOPS_STORAGE_SECRET`` (keys ``accessKey`` and ``secretKey``, the ones the
workers mount) in each of ``CAMOPS_STORAGE_SECRET_NAMESPACES``, so adding a camera namespace is one
value of the chart instead of a Secret copied by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from camops_operator.builders.common import MANAGED_BY
from camops_operator.settings import OperatorSettings

__all__ = ["COPIED_FROM", "STORAGE_KEYS", "build_storage_secret_copy", "missing_keys"]

#: The keys the workers read (mounted as files of the same names).
STORAGE_KEYS = ("accessKey", "secretKey")
#: Annotation naming the Secret a copy was made from (namespace/name).
COPIED_FROM = "camops.io/copied-from"


def missing_keys(source: Mapping[str, Any]) -> list[str]:
    """The storage keys the source Secret lacks (never its values)."""
    data = source.get("data") or {}
    return [key for key in STORAGE_KEYS if not data.get(key)]


def build_storage_secret_copy(source: Mapping[str, Any], namespace: str, settings: OperatorSettings) -> dict[str, Any]:
    """The Secret ``settings.storage_secret`` in ``namespace`` holding the source's storage keys."""
    meta = source.get("metadata") or {}
    data = source.get("data") or {}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": settings.storage_secret,
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/managed-by": MANAGED_BY,
                "app.kubernetes.io/component": "storage-credentials",
            },
            "annotations": {COPIED_FROM: f"{meta.get('namespace', settings.operator_namespace)}/{meta.get('name')}"},
        },
        "type": "Opaque",
        "data": {key: data[key] for key in STORAGE_KEYS if key in data},
    }

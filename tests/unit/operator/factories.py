"""Camera manifests and settings for the operator's tests."""

from __future__ import annotations

import copy
from typing import Any

from camops_operator.api.camera import Camera
from camops_operator.settings import OperatorSettings

__all__ = ["camera", "camera_body", "settings"]


def camera_body(name: str = "gate", namespace: str = "site-a", **spec: Any) -> dict[str, Any]:
    """A Camera body as the API server would hold it (uid and generation set)."""
    body: dict[str, Any] = {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "Camera",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "generation": 1, "labels": {}},
        "spec": {"source": {"url": "rtsp://10.0.0.7/stream1"}},
    }
    for key, value in spec.items():
        body["spec"][key] = copy.deepcopy(value)
    return body


def camera(name: str = "gate", namespace: str = "site-a", **spec: Any) -> Camera:
    return Camera.model_validate(camera_body(name, namespace, **spec))


def settings(**overrides: Any) -> OperatorSettings:
    base: dict[str, Any] = {
        "storage_endpoint": "minio.storage:9000",
        "storage_secure": False,
        "mediamtx_api_url": "http://mediamtx:9997",
        "mediamtx_rtsp_url": "rtsp://mediamtx:8554",
    }
    return OperatorSettings(**{**base, **overrides})

"""The CameraPool API: defaults, bounds, the generated CRD's columns, and Camera.spec.pool."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from camops_operator import crdgen
from camops_operator.api.camera import Camera
from camops_operator.api.pool import CameraPool


def _pool(**spec: object) -> CameraPool:
    return CameraPool.model_validate(
        {"apiVersion": "camops.io/v1alpha1", "kind": "CameraPool", "metadata": {"name": "lobby"}, "spec": spec}
    )


def test_defaults_and_bounds() -> None:
    pool = _pool()
    assert pool.spec.cameras_per_worker == 50
    assert pool.spec.offline_queue.size == "10Gi"
    assert _pool(camerasPerWorker=500).spec.cameras_per_worker == 500
    for bad in (0, 501):
        with pytest.raises(ValidationError):
            _pool(camerasPerWorker=bad)
    with pytest.raises(ValidationError):
        _pool(unknownField=1)


def test_affinity_is_kept_as_written() -> None:
    affinity: dict[str, object] = {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}
    }
    assert _pool(affinity=affinity).spec.affinity == affinity


def test_crd_columns_short_name_and_free_form_affinity() -> None:
    crd = crdgen.pool_crd()
    assert crd["spec"]["names"]["shortNames"] == ["campool"]
    version = crd["spec"]["versions"][0]
    assert [c["name"] for c in version["additionalPrinterColumns"]] == ["Workers", "Cameras", "Ready", "Age"]
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert spec["camerasPerWorker"]["minimum"] == 1
    assert spec["camerasPerWorker"]["maximum"] == 500
    assert spec["affinity"]["x-kubernetes-preserve-unknown-fields"] is True


def test_camera_names_its_pool() -> None:
    body = {"metadata": {"name": "gate"}, "spec": {"source": {"url": "rtsp://10.0.0.7/s"}, "pool": "lobby"}}
    assert Camera.model_validate(body).spec.pool == "lobby"
    with pytest.raises(ValidationError):
        Camera.model_validate({**body, "spec": {**body["spec"], "pool": "Not_A_Name"}})  # type: ignore[dict-item]


def test_local_mode_runs_pooled_cameras_as_its_own_and_skips_the_pool() -> None:
    from pathlib import Path

    from camops_operator.local.manifests import load_manifests

    manifests = load_manifests([Path(__file__).resolve().parents[3] / "examples/pool.yaml"])
    assert sorted(c.name for c in manifests.cameras) == ["lobby-desk", "lobby-entrance", "lobby-lifts"]
    assert any("CameraPool/lobby" in s for s in manifests.skipped)

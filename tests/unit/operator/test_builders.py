"""Pure builders: what a Camera turns into, validated against the real Kubernetes schemas."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pytest

from camops_operator.api.camera import Camera
from camops_operator.builders.common import child_name, label_value
from camops_operator.builders.contract import ContractError
from camops_operator.builders.drain import build_drain_cron_job
from camops_operator.builders.queue import build_queue_pvc
from camops_operator.builders.worker import CONTRACT_HASH_ANNOTATION, build_worker_config_map, build_worker_deployment
from camops_operator.settings import OperatorSettings
from tests.support.kubernetes import supported_versions
from tests.unit.operator.factories import camera, settings


def children(cam: Any, s: OperatorSettings) -> list[dict[str, Any]]:
    cm = build_worker_config_map(cam, s)
    out = [cm, build_worker_deployment(cam, s, cm)]
    for extra in (build_queue_pvc(cam), build_drain_cron_job(cam, s)):
        if extra is not None:
            out.append(extra)
    return out


CAMERAS: dict[str, Callable[[], Camera]] = {
    "minimal": camera,
    "everything": lambda: camera(
        source={
            "url": "rtsp://10.0.0.7/stream1",
            "credentialsSecretRef": {"name": "gate-cam", "usernameKey": "user", "passwordKey": "pass"},
            "transport": "udp",
        },
        snapshots={"interval": "2s", "quality": 70, "maxWidth": 1280},
        recording={"enabled": True, "segmentDuration": "30s"},
        storage={"bucket": "site-a", "prefix": "north/gate", "layout": "flat", "secretRef": {"name": "s3-site-a"}},
        offlineQueue={"size": "5Gi", "storageClassName": "local-path", "maxItems": 500, "overflow": "rejectNew"},
        worker={
            "image": "registry.local/camops:dev",
            "resources": {"requests": {"cpu": "50m"}, "limits": {"memory": "256Mi"}},
            "nodeSelector": {"site": "a"},
            "tolerations": [{"key": "edge", "operator": "Exists", "effect": "NoSchedule"}],
        },
        paused=True,
    ),
    "emptydir": lambda: camera(offlineQueue={"volume": "emptyDir", "size": "1Gi"}),
    "via-mediamtx": lambda: camera(source={"url": "rtsp://10.0.0.7/s", "via": "mediamtx"}, mediamtx={"enabled": True}),
}


@pytest.mark.parametrize("version", supported_versions())
@pytest.mark.parametrize("case", sorted(CAMERAS))
def test_every_manifest_is_valid_kubernetes(case: str, version: str) -> None:
    for manifest in children(CAMERAS[case](), settings()):
        kubernetes_validate.validate(manifest, version, strict=True)


def test_versions_cover_129_to_newest() -> None:
    assert supported_versions()[0] == "1.29.0"
    assert len(supported_versions()) >= 2


def test_deployment_runs_one_recreated_restricted_worker() -> None:
    cam = camera()
    cm = build_worker_config_map(cam, settings())
    dep = build_worker_deployment(cam, settings(), cm)
    spec = dep["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    assert container["command"] == ["camops", "capture", "--config", "/etc/camops/worker.json"]
    sec = container["securityContext"]
    assert sec["readOnlyRootFilesystem"] is True
    assert sec["allowPrivilegeEscalation"] is False
    assert sec["capabilities"] == {"drop": ["ALL"]}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["ports"][0]["containerPort"] == 8080
    assert dep["metadata"]["ownerReferences"][0] == {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "Camera",
        "name": "gate",
        "uid": "uid-gate",
        "controller": True,
        "blockOwnerDeletion": True,
    }


def test_paused_camera_scales_to_zero_and_unsuspends_the_drain() -> None:
    running, paused = camera(), camera(paused=True)
    cm = build_worker_config_map(paused, settings())
    assert build_worker_deployment(paused, settings(), cm)["spec"]["replicas"] == 0
    assert build_drain_cron_job(running, settings())["spec"]["suspend"] is True  # type: ignore[index]
    assert build_drain_cron_job(paused, settings())["spec"]["suspend"] is False  # type: ignore[index]


def test_interval_change_changes_the_pod_template_hash() -> None:
    s = settings()
    a, b = camera(), camera(snapshots={"interval": "5s"})
    hash_a = build_worker_deployment(a, s, build_worker_config_map(a, s))["spec"]["template"]["metadata"]
    hash_b = build_worker_deployment(b, s, build_worker_config_map(b, s))["spec"]["template"]["metadata"]
    assert hash_a["annotations"][CONTRACT_HASH_ANNOTATION] != hash_b["annotations"][CONTRACT_HASH_ANNOTATION]
    same = build_worker_deployment(a, s, build_worker_config_map(a, s))["spec"]["template"]["metadata"]
    assert same == hash_a


def test_credentials_are_mounted_never_copied() -> None:
    cam = CAMERAS["everything"]()
    s = settings()
    cm = build_worker_config_map(cam, s)
    contract = json.loads(cm["data"]["worker.json"])
    assert contract["source"]["username"] == {"file": "/etc/camops/camera/username", "env": None}
    assert contract["storage"]["access_key"]["file"] == "/etc/camops/storage/accessKey"
    pod = build_worker_deployment(cam, s, cm)["spec"]["template"]["spec"]
    secrets = {v["secret"]["secretName"]: v["secret"]["items"] for v in pod["volumes"] if "secret" in v}
    assert secrets["gate-cam"] == [{"key": "user", "path": "username"}, {"key": "pass", "path": "password"}]
    assert secrets["s3-site-a"] == [
        {"key": "accessKey", "path": "accessKey"},
        {"key": "secretKey", "path": "secretKey"},
    ]


def test_drain_job_gets_storage_from_env_and_secret_refs() -> None:
    cron = build_drain_cron_job(camera(storage={"bucket": "site-a"}), settings())
    assert cron is not None
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    container = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:4] == ["camops", "drain", "--queue", "/var/lib/camops/queue"]
    env = {e["name"]: e for e in container["env"]}
    assert env["CAMOPS_STORAGE_BUCKET"]["value"] == "site-a"
    assert env["CAMOPS_STORAGE_ENDPOINT"]["value"] == "minio.storage:9000"
    assert env["CAMOPS_STORAGE_SECURE"]["value"] == "false"
    assert env["CAMOPS_STORAGE_ACCESS_KEY"]["valueFrom"] == {
        "secretKeyRef": {"name": "camops-storage", "key": "accessKey"}
    }


def test_queue_claim_outlives_the_camera_only_when_asked() -> None:
    owned = build_queue_pvc(camera())
    kept = build_queue_pvc(camera(offlineQueue={"keepOnDelete": True}))
    assert owned is not None
    assert kept is not None
    assert owned["metadata"]["ownerReferences"][0]["uid"] == "uid-gate"
    assert "ownerReferences" not in kept["metadata"]
    assert build_queue_pvc(camera(offlineQueue={"volume": "emptyDir"})) is None
    assert build_drain_cron_job(camera(offlineQueue={"volume": "emptyDir"}), settings()) is None


def test_long_names_fit_kubernetes_limits() -> None:
    name = "camera-" + "x" * 120
    cam = camera(name=name)
    cron = build_drain_cron_job(cam, settings())
    assert cron is not None
    assert len(cron["metadata"]["name"]) <= 52
    assert all(len(v) <= 63 for v in cron["metadata"]["labels"].values())
    assert child_name(name, "drain", 52) == child_name(name, "drain", 52)
    assert label_value("short") == "short"
    kubernetes_validate.validate(cron, supported_versions()[-1], strict=True)


def test_via_mediamtx_without_rtsp_url_is_a_contract_error() -> None:
    cam = CAMERAS["via-mediamtx"]()
    with pytest.raises(ContractError, match="CAMOPS_MEDIAMTX_RTSP_URL"):
        build_worker_config_map(cam, settings(mediamtx_rtsp_url=None))
    cm = build_worker_config_map(cam, settings())
    assert json.loads(cm["data"]["worker.json"])["source"]["url"] == "rtsp://mediamtx:8554/site-a-gate"

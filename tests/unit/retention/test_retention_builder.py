"""The `<policy>-retention` CronJob: valid for Kubernetes 1.29 to the newest, and what it promises."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pytest

from camops_operator.api.camera import Camera
from camops_operator.api.retention import RetentionPolicy
from camops_operator.builders.retention import build_retention_cron_job, policy_storage_secrets, retention_name
from camops_operator.settings import OperatorSettings
from tests.support.kubernetes import supported_versions


def policy(name: str = "one-week", **spec: Any) -> RetentionPolicy:
    return RetentionPolicy.model_validate(
        {
            "metadata": {"name": name, "namespace": "cameras", "uid": f"uid-{name}", "generation": 3},
            "spec": {"maxAge": "7d", **spec},
        }
    )


SETTINGS = OperatorSettings(storage_endpoint="minio.storage:9000", storage_secure=False, storage_region="eu-1")
CASES: dict[str, Callable[[], RetentionPolicy]] = {
    "minimal": policy,
    "everything": lambda: policy(
        selector={"matchLabels": {"retention": "week"}},
        maxBytesPerCamera="200Gi",
        archive={"bucket": "cameras-archive", "after": "3d"},
        schedule="15 3 * * *",
        suspend=True,
        dryRun=True,
    ),
    "long-name": lambda: policy(name="a-retention-policy-whose-name-is-much-longer-than-fifty-two"),
}


@pytest.mark.parametrize("version", supported_versions())
@pytest.mark.parametrize("case", sorted(CASES))
def test_cron_job_is_valid_kubernetes(case: str, version: str) -> None:
    kubernetes_validate.validate(build_retention_cron_job(CASES[case](), SETTINGS), version, strict=True)


def test_versions_cover_129_to_newest() -> None:
    assert supported_versions()[0] == "1.29.0"
    assert len(supported_versions()) >= 2


def test_schedule_suspend_and_no_overlap() -> None:
    cron = build_retention_cron_job(CASES["everything"](), SETTINGS)
    spec = cron["spec"]
    assert spec["schedule"] == "15 3 * * *"
    assert spec["suspend"] is True
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["successfulJobsHistoryLimit"] >= 1
    assert spec["failedJobsHistoryLimit"] >= 1
    assert build_retention_cron_job(policy(), SETTINGS)["spec"]["suspend"] is False


def test_adopted_by_the_policy() -> None:
    cron = build_retention_cron_job(policy(), SETTINGS)
    assert cron["metadata"]["name"] == "one-week-retention"
    assert cron["metadata"]["namespace"] == "cameras"
    [owner] = cron["metadata"]["ownerReferences"]
    assert owner == {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "RetentionPolicy",
        "name": "one-week",
        "uid": "uid-one-week",
        "controller": True,
        "blockOwnerDeletion": True,
    }


def test_long_names_fit_the_cron_job_limit() -> None:
    name = retention_name(CASES["long-name"]())
    assert len(name) <= 52
    assert name.endswith("-retention")


def test_pod_runs_the_policy_restricted_with_storage_from_the_secret() -> None:
    pod = build_retention_cron_job(policy(), SETTINGS)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["command"] == ["camops", "retention", "--policy", "cameras/one-week"]
    assert pod["serviceAccountName"] == SETTINGS.worker_service_account
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    env = {e["name"]: e for e in container["env"]}
    assert env["CAMOPS_STORAGE_ENDPOINT"]["value"] == "minio.storage:9000"
    assert env["CAMOPS_STORAGE_SECURE"]["value"] == "false"
    assert env["CAMOPS_STORAGE_ACCESS_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": SETTINGS.storage_secret,
        "key": "accessKey",
    }
    assert "value" not in env["CAMOPS_STORAGE_SECRET_KEY"]


def test_a_policy_without_uid_cannot_own() -> None:
    body = policy().model_dump(mode="json", by_alias=True)
    body["metadata"]["uid"] = None
    with pytest.raises(ValueError, match="uid"):
        build_retention_cron_job(RetentionPolicy.model_validate(body), SETTINGS)


def camera(name: str, labels: dict[str, str], secret: str | None, namespace: str = "cameras") -> Camera:
    storage = {"secretRef": {"name": secret}} if secret else {}
    return Camera.model_validate(
        {
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"source": {"url": "rtsp://192.0.2.1/s"}, "storage": storage},
        }
    )


@pytest.mark.parametrize("version", supported_versions())
def test_the_selected_cameras_storage_secrets_are_mounted_read_only_and_optional(version: str) -> None:
    week = policy(selector={"matchLabels": {"retention": "week"}})
    cameras = [
        camera("a", {"retention": "week"}, "tenant-a"),
        camera("b", {"retention": "week"}, "tenant-a"),  # one Secret, mounted once
        camera("c", {"retention": "week"}, None),
        camera("d", {"retention": "month"}, "tenant-d"),  # not selected
        camera("e", {"retention": "week"}, "tenant-e", namespace="elsewhere"),  # another namespace
        camera("f", {"retention": "week"}, "tenant-f"),
    ]
    secrets = policy_storage_secrets(week, cameras)
    assert secrets == ["tenant-a", "tenant-f"]
    cron = build_retention_cron_job(week, SETTINGS, secrets)
    kubernetes_validate.validate(cron, version, strict=True)
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    volumes = {v["name"]: v["secret"] for v in pod["volumes"] if "secret" in v}
    [container] = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"] if m["name"] in volumes}
    assert {volumes[m["name"]]["secretName"]: path for path, m in mounts.items()} == {
        name: f"{env['CAMOPS_STORAGE_SECRETS_DIR']}/{name}" for name in secrets
    }
    assert all(m["readOnly"] for m in mounts.values())
    assert all(v["optional"] for v in volumes.values())
    plain = build_retention_cron_job(week, SETTINGS)
    plain_pod = plain["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert not any("secret" in v for v in plain_pod["volumes"])
    assert "CAMOPS_STORAGE_SECRETS_DIR" not in {e["name"] for e in plain_pod["containers"][0]["env"]}

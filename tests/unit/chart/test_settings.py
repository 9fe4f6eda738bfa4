"""The operator Deployment sets exactly the settings the operator reads (OperatorSettings.from_env).

The rendered environment, with Secret references resolved the way the kubelet does, must parse
into the settings the values asked for; a variable the operator does not know is a typo.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml

from camops_operator.api import Camera, RetentionPolicy
from camops_operator.builders.drain import build_drain_cron_job
from camops_operator.builders.retention import build_retention_cron_job
from camops_operator.builders.worker import build_worker_config_map, build_worker_deployment
from camops_operator.settings import ENV_PREFIX, OperatorSettings
from tests.unit.chart.render import ALL_ON, NAMESPACE, ROOT, Rendered, render

#: The names agreed between the chart and the operator.
AGREED = {
    "CAMOPS_NAMESPACES",
    "CAMOPS_WORKER_IMAGE",
    "CAMOPS_WORKER_IMAGE_PULL_POLICY",
    "CAMOPS_WORKER_SERVICE_ACCOUNT",
    "CAMOPS_STORAGE_ENDPOINT",
    "CAMOPS_STORAGE_SECURE",
    "CAMOPS_STORAGE_REGION",
    "CAMOPS_STORAGE_BUCKET",
    "CAMOPS_STORAGE_SECRET",
    "CAMOPS_MEDIAMTX_API_URL",
    "CAMOPS_MEDIAMTX_RTSP_URL",
    "CAMOPS_MEDIAMTX_USERNAME",
    "CAMOPS_MEDIAMTX_PASSWORD",
    "CAMOPS_MEDIAMTX_TIMEOUT",
    "CAMOPS_HTTP_PORT",
    "CAMOPS_DRAIN_SCHEDULE",
    "CAMOPS_LOG_LEVEL",
}


def _env(rendered: Rendered) -> list[dict[str, Any]]:
    (container,) = rendered.one("Deployment", "camops")["spec"]["template"]["spec"]["containers"]
    env: list[dict[str, Any]] = container["env"]
    return env


def _resolve(rendered: Rendered) -> dict[str, str]:
    """The environment the operator process sees (Secrets and the downward API resolved)."""
    secrets = {s["metadata"]["name"]: s["data"] for s in rendered.of_kind("Secret")}
    out: dict[str, str] = {}
    for var in _env(rendered):
        if "value" in var:
            out[var["name"]] = var["value"]
        elif "secretKeyRef" in var["valueFrom"]:
            ref = var["valueFrom"]["secretKeyRef"]
            out[var["name"]] = base64.b64decode(secrets[ref["name"]][ref["key"]]).decode()
        else:
            assert var["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
            out[var["name"]] = NAMESPACE
    return out


@pytest.mark.parametrize("values", [None, ALL_ON], ids=["defaults", "all-on"])
def test_every_camops_variable_is_a_setting(values: dict[str, Any] | None) -> None:
    known = {ENV_PREFIX + name.upper() for name in OperatorSettings.model_fields}
    names = [v["name"] for v in _env(render(values))]
    assert len(names) == len(set(names)), "a variable is set twice"
    assert {n for n in names if n.startswith(ENV_PREFIX)} - known == set()


def test_the_agreed_variables_are_all_set() -> None:
    names = {v["name"] for v in _env(render(ALL_ON))}
    assert names >= AGREED


def test_rendered_environment_parses_into_the_asked_settings() -> None:
    settings = OperatorSettings.from_env(_resolve(render(ALL_ON)))
    assert settings.namespaces == ("cameras", "lobby")
    assert settings.operator_namespace == NAMESPACE
    assert settings.worker_image == "ghcr.io/camops/camops:0.1.0"
    assert settings.worker_service_account == "camops-worker"
    assert settings.storage_endpoint == "minio.minio.svc:9000"
    assert settings.storage_secure is False
    assert settings.storage_region == "eu-west-1"
    assert settings.storage_bucket == "cameras"
    assert settings.mediamtx_api_url == f"http://camops-mediamtx-internal.{NAMESPACE}.svc:9997"
    assert settings.mediamtx_username == "camops-operator"
    assert settings.mediamtx_password is not None
    assert settings.mediamtx_password.get_secret_value() == "not-a-real-password"
    assert settings.mediamtx_timeout == 5.0
    assert settings.http_port == 8080
    assert settings.log_level == "INFO"
    assert settings.events_webhook_url == "http://events.ops.svc:8080/in"
    assert settings.events_webhook_mode == "binary"
    assert settings.events_nats_url == "nats://nats:4222"
    assert settings.events_nats_subject is None


def test_default_environment_parses_too() -> None:
    settings = OperatorSettings.from_env(_resolve(render()))
    assert settings.namespaces == ()
    assert settings.storage_endpoint is None
    assert settings.mediamtx_api_url is None
    assert settings.storage_secure is True


def test_operator_port_follows_the_setting() -> None:
    rendered = render({"operator": {"httpPort": 9090}})
    assert OperatorSettings.from_env(_resolve(rendered)).http_port == 9090
    (container,) = rendered.one("Deployment", "camops")["spec"]["template"]["spec"]["containers"]
    assert container["ports"][0]["containerPort"] == 9090


def test_worker_pods_built_from_these_settings_match_the_chart() -> None:
    """Chart env -> settings -> the operator's worker builder: the pod runs as the account the chart
    binds, with the chart's worker image, and the PodMonitor selects it on its metrics port."""
    rendered = render(ALL_ON)
    settings = OperatorSettings.from_env(_resolve(rendered))
    docs = yaml.safe_load_all((ROOT / "examples" / "camera-rtsp-mediamtx.yaml").read_text())
    body = next(d for d in docs if d["kind"] == "Camera")
    body["metadata"]["uid"] = "0b5c6f1e-0000-4000-8000-000000000001"
    camera = Camera.model_validate(body)
    deployment = build_worker_deployment(camera, settings, build_worker_config_map(camera, settings))
    pod = deployment["spec"]["template"]
    accounts = {(sa["metadata"]["namespace"], sa["metadata"]["name"]) for sa in rendered.of_kind("ServiceAccount")}
    assert (camera.namespace, pod["spec"]["serviceAccountName"]) in accounts
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "ghcr.io/camops/camops:0.1.0"
    monitor = rendered.one("PodMonitor", "camops-workers")["spec"]
    assert monitor["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert camera.namespace in monitor["namespaceSelector"]["matchNames"]
    assert {e["port"] for e in monitor["podMetricsEndpoints"]} <= {p["name"] for p in container["ports"]}


def test_drain_and_retention_jobs_built_from_these_settings_run_as_the_chart_account() -> None:
    rendered = render(ALL_ON)
    settings = OperatorSettings.from_env(_resolve(rendered))
    accounts = {(sa["metadata"]["namespace"], sa["metadata"]["name"]) for sa in rendered.of_kind("ServiceAccount")}
    camera_body = next(
        d
        for d in yaml.safe_load_all((ROOT / "examples" / "camera-rtsp-mediamtx.yaml").read_text())
        if d["kind"] == "Camera"
    )
    camera_body["metadata"]["uid"] = "0b5c6f1e-0000-4000-8000-000000000002"
    policy_body = yaml.safe_load((ROOT / "examples" / "retention-7d-archive.yaml").read_text())
    policy_body["metadata"]["uid"] = "0b5c6f1e-0000-4000-8000-000000000003"
    drain = build_drain_cron_job(Camera.model_validate(camera_body), settings)
    retention = build_retention_cron_job(RetentionPolicy.model_validate(policy_body), settings)
    jobs = [job for job in (drain, retention) if job is not None]
    assert drain is not None, "a camera with a queue volume has a drain CronJob"
    for job in jobs:
        pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        assert (job["metadata"]["namespace"], pod["serviceAccountName"]) in accounts
        (container,) = pod["containers"]
        assert container["image"] == "ghcr.io/camops/camops:0.1.0"

"""Camera spec → worker contract."""

from __future__ import annotations

from camops_operator.builders.contract import (
    ContractEnvironment,
    CredentialLocation,
    build_worker_contract,
    queue_limits,
)
from camops_operator.builders.worker import cluster_environment
from camops_workers.contract import StorageConfig
from tests.unit.operator.factories import camera, settings


def local_env() -> ContractEnvironment:
    return ContractEnvironment(
        storage=StorageConfig(kind="local", directory="/data/camops"),
        queue_directory="/data/queue/gate",
        camera_credentials=CredentialLocation(username_env="GATE_USER", password_env="GATE_PASS"),  # noqa: S106 - a variable name
        report_status=False,
        http_port=0,
    )


def test_spec_fields_map_to_the_contract() -> None:
    cam = camera(
        source={"url": "rtsp://10.0.0.7/s", "credentialsSecretRef": {"name": "c"}, "connectTimeout": "3s"},
        snapshots={"interval": "1m", "quality": 60},
        recording={"enabled": True, "segmentDuration": "2m"},
        storage={"bucket": "site-a", "prefix": "/north/", "layout": "latest"},
        offlineQueue={"size": "1Gi", "maxAge": "1d", "overflow": "rejectNew"},
    )
    c = build_worker_contract(cam, cluster_environment(settings()))
    assert c.camera == "gate"
    assert c.namespace == "site-a"
    assert c.source.connect_timeout_s == 3.0
    assert c.snapshots.interval_s == 60.0
    assert c.recording.enabled is True
    assert c.recording.segment_duration_s == 120.0
    assert (c.storage.bucket, c.storage.prefix, c.storage.layout) == ("site-a", "north", "latest")
    assert c.storage.endpoint == "minio.storage:9000"
    assert c.storage.secure is False
    assert c.queue.max_bytes == int(2**30 * 0.9)
    assert c.queue.max_age_s == 86400.0
    assert c.queue.overflow == "rejectNew"
    assert c.report is not None
    assert (c.report.namespace, c.report.name) == ("site-a", "gate")


def test_local_environment_uses_env_credentials_and_no_reporting() -> None:
    cam = camera(source={"url": "rtsp://10.0.0.7/s", "credentialsSecretRef": {"name": "c"}})
    c = build_worker_contract(cam, local_env())
    assert c.source.username is not None
    assert c.source.username.env == "GATE_USER"
    assert c.source.password is not None
    assert c.source.password.env == "GATE_PASS"
    assert c.storage.kind == "local"
    assert c.storage.bucket == "camops"
    assert c.report is None
    assert c.queue.directory == "/data/queue/gate"


def test_no_credentials_ref_means_no_credentials_in_contract() -> None:
    c = build_worker_contract(camera(), local_env())
    assert c.source.username is None
    assert c.source.password is None


def test_queue_limits_default_to_ninety_percent_of_the_volume() -> None:
    assert queue_limits(camera(offlineQueue={"size": "10Gi"})) == (int(10 * 2**30 * 0.9), None)
    assert queue_limits(camera(offlineQueue={"maxBytes": "1Gi", "maxItems": 7})) == (2**30, 7)


def test_fleet_event_sinks_from_settings_apply_to_cameras_without_their_own() -> None:
    env = cluster_environment(
        settings(
            events_webhook_url="http://events.ops:8080/in",
            events_webhook_mode="binary",
            events_nats_url="nats://nats:4222",
        )
    )
    plain = build_worker_contract(camera(), env)
    assert plain.events is not None
    assert plain.events.webhook is not None
    assert (plain.events.webhook.url, plain.events.webhook.mode) == ("http://events.ops:8080/in", "binary")
    assert plain.events.nats is not None
    assert plain.events.nats.servers == ["nats://nats:4222"]
    own = build_worker_contract(camera(events={"webhook": {"url": "https://hooks.example/cam"}}), env)
    assert own.events is not None
    assert own.events.webhook is not None
    assert own.events.webhook.url == "https://hooks.example/cam"
    assert own.events.nats is None  # a Camera's own sinks replace the fleet's
    assert build_worker_contract(camera(), cluster_environment(settings())).events is None

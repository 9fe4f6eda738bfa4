"""The operator renders spec.analysis/spec.events into the worker contract, mounts the token Secrets
as files, and shows AnalysisReachable from what the worker reports (without touching Ready)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from camops_operator.api.camera import CaptureStatus
from camops_operator.builders.contract import build_worker_contract
from camops_operator.builders.worker import build_worker_config_map, build_worker_deployment, cluster_environment
from camops_operator.status import MediaSync, Observed, compute_status
from camops_workers.contract import EventsConfig, WebhookSinkConfig, WorkerConfig
from camops_workers.listeners import build_listeners, close_listeners
from tests.unit.operator.factories import camera, settings

ANALYSIS = {
    "endpoint": "http://detector.ai:8000/v1/detect",
    "everyNthSnapshot": 3,
    "timeout": "1500ms",
    "maxWidth": 640,
    "headers": {"X-Model": "plates"},
    "bearerTokenSecretRef": {"name": "detector", "key": "api-token"},
}
EVENTS = {
    "types": ["io.camops.analysis.result"],
    "webhook": {"url": "https://hooks.example/e", "mode": "binary", "bearerTokenSecretRef": {"name": "hook"}},
    "nats": {"url": "nats://nats:4222", "tokenSecretRef": {"name": "nats-auth", "key": "t"}},
}


def _rendered() -> tuple[dict[str, Any], dict[str, Any]]:
    cam = camera(analysis=ANALYSIS, events=EVENTS)
    s = settings()
    cm = build_worker_config_map(cam, s)
    return json.loads(cm["data"]["worker.json"]), build_worker_deployment(cam, s, cm)["spec"]["template"]["spec"]


def test_analysis_and_events_reach_the_worker_contract() -> None:
    contract, _ = _rendered()
    config = WorkerConfig.model_validate(contract)
    assert config.analysis is not None
    assert config.analysis.endpoint == "http://detector.ai:8000/v1/detect"
    assert config.analysis.every_nth_snapshot == 3
    assert config.analysis.timeout_s == 1.5
    assert config.analysis.max_width == 640
    assert config.analysis.headers == {"X-Model": "plates"}
    assert contract["analysis"]["bearer_token"] == {"file": "/etc/camops/tokens/analysis/token", "env": None}
    assert config.events is not None
    assert config.events.types == ["io.camops.analysis.result"]
    assert config.events.webhook is not None
    assert config.events.webhook.mode == "binary"
    assert contract["events"]["webhook"]["bearer_token"]["file"] == "/etc/camops/tokens/events-webhook/token"
    assert config.events.nats is not None
    assert config.events.nats.servers == ["nats://nats:4222"]
    assert contract["events"]["nats"]["token"]["file"] == "/etc/camops/tokens/events-nats/token"


def test_token_secrets_are_mounted_as_files_never_copied() -> None:
    contract, pod = _rendered()
    secrets = {v["secret"]["secretName"]: v["secret"]["items"] for v in pod["volumes"] if "secret" in v}
    assert secrets["detector"] == [{"key": "api-token", "path": "token"}]
    assert secrets["hook"] == [{"key": "token", "path": "token"}]
    assert secrets["nats-auth"] == [{"key": "t", "path": "token"}]
    mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["analysis-token"]["mountPath"] == "/etc/camops/tokens/analysis"
    assert mounts["analysis-token"]["readOnly"] is True
    assert "api-token" not in json.dumps(contract)


def test_a_camera_without_analysis_renders_no_listeners() -> None:
    contract = json.loads(build_worker_config_map(camera(), settings())["data"]["worker.json"])
    config = WorkerConfig.model_validate(contract)
    assert config.analysis is None
    assert config.events is None
    assert build_listeners(config) == []


def test_the_rendered_contract_builds_both_listeners() -> None:
    config = WorkerConfig.model_validate(_rendered()[0])
    listeners = build_listeners(config)
    try:
        assert [type(listener).__name__ for listener in listeners] == ["EventPublisher", "AnalysisListener"]
    finally:
        close_listeners(listeners, timeout=0.5)


T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _conditions(capture: CaptureStatus | None, analysis: bool | None = None) -> dict[str, tuple[str, str]]:
    obs = Observed(
        generation=1,
        paused=False,
        deployment={"status": {"availableReplicas": 1}},
        capture=capture,
        media=MediaSync(wanted=False),
        analysis=analysis,
    )
    return {c.type: (c.status, c.reason) for c in compute_status(obs, None, T0).conditions}


def test_analysis_reachable_condition_follows_the_worker_report() -> None:
    good = CaptureStatus(source_connected=True, storage_reachable=True)
    assert _conditions(good)["AnalysisReachable"] == ("True", "NotRequested")
    assert _conditions(good, analysis=True)["AnalysisReachable"] == ("Unknown", "NoReport")
    up = good.model_copy(update={"analysis_reachable": True})
    assert _conditions(up)["AnalysisReachable"] == ("True", "Reachable")
    down = good.model_copy(update={"analysis_reachable": False, "analysis_dropped": 42})
    conditions = _conditions(down)
    assert conditions["AnalysisReachable"] == ("False", "Unreachable")
    assert conditions["Ready"] == ("True", "Ready"), "a dead inference endpoint never makes the camera un-Ready"


def test_worker_report_fields_parse_into_the_capture_status() -> None:
    status = CaptureStatus.model_validate({"analysisReachable": False, "analysisDropped": 7, "eventsDropped": 2})
    assert (status.analysis_reachable, status.analysis_dropped, status.events_dropped) == (False, 7, 2)


def test_environment_default_sinks_apply_to_cameras_without_spec_events() -> None:
    defaults = EventsConfig(webhook=WebhookSinkConfig(url="http://fleet-events.ops:8080/"))
    env = replace(cluster_environment(settings()), default_events=defaults)
    assert build_worker_contract(camera(), env).events == defaults
    own = build_worker_contract(camera(events=EVENTS), env).events
    assert own is not None
    assert own.webhook is not None
    assert own.webhook.url == "https://hooks.example/e", "a Camera's own spec.events wins"

"""The MediaMTX path configuration and the retention override."""

from __future__ import annotations

from camops_operator.api.retention import RetentionPolicy
from camops_operator.builders.mediamtx import (
    build_mediamtx_path,
    comparable,
    retention_record_delete_after,
    strip_userinfo,
)
from tests.servers.mediamtx import _errors
from tests.unit.operator.factories import camera


def policy(name: str, max_age: str, labels: dict[str, str] | None = None, namespace: str = "site-a") -> RetentionPolicy:
    return RetentionPolicy.model_validate(
        {
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"maxAge": max_age, "selector": {"matchLabels": labels or {}}},
        }
    )


def test_path_conf_is_valid_for_mediamtx() -> None:
    cam = camera(mediamtx={"enabled": True, "sourceOnDemand": True, "record": True, "recordDeleteAfter": "2d"})
    conf = build_mediamtx_path(cam, credentials=("admin", "p@ss:word"))
    assert conf["name"] == "site-a-gate"
    assert conf["source"] == "rtsp://admin:p%40ss%3Aword@10.0.0.7/stream1"
    assert conf["recordDeleteAfter"] == "48h0m0s"
    assert _errors("PathConf", {k: v for k, v in conf.items() if k != "name"}) == []
    assert strip_userinfo(conf["source"]) == "rtsp://10.0.0.7/stream1"


def test_selecting_policy_sets_record_delete_after() -> None:
    cam = camera(mediamtx={"enabled": True, "record": True, "recordDeleteAfter": "30d"})
    policies = [policy("all", "7d"), policy("strict", "36h", {"tier": "x"}), policy("other-ns", "1h", namespace="b")]
    assert retention_record_delete_after(cam, policies) == "7d"
    conf = build_mediamtx_path(cam, record_delete_after=retention_record_delete_after(cam, policies))
    assert conf["recordDeleteAfter"] == "168h0m0s"
    not_recording = camera(mediamtx={"enabled": True})
    assert retention_record_delete_after(not_recording, policies) is None
    assert "recordDeleteAfter" not in build_mediamtx_path(not_recording, record_delete_after="7d")


def test_comparison_ignores_credentials() -> None:
    cam = camera(mediamtx={"enabled": True})
    fields = [k for k in build_mediamtx_path(cam) if k != "name"]
    with_creds = build_mediamtx_path(cam, credentials=("u", "p"))
    assert comparable(with_creds, fields) == comparable(build_mediamtx_path(cam), fields)

"""Operator settings from the environment."""

from __future__ import annotations

import pytest

from camops_operator.settings import OperatorSettings, SettingsError


def test_defaults_watch_all_namespaces_and_serve_on_8080() -> None:
    s = OperatorSettings.from_env({})
    assert s.namespaces == ()
    assert s.http_port == 8080
    assert s.mediamtx_enabled is False


def test_env_values_are_parsed() -> None:
    s = OperatorSettings.from_env(
        {
            "CAMOPS_NAMESPACES": "site-a, site-b,",
            "CAMOPS_STORAGE_SECURE": "false",
            "CAMOPS_MEDIAMTX_API_URL": "http://mediamtx:9997",
            "CAMOPS_MEDIAMTX_PASSWORD": "s3cret",
            "CAMOPS_MEDIAMTX_TIMEOUT": "2s",
            "CAMOPS_DRIFT_INTERVAL": "0.5",
            "POD_NAMESPACE": "ops",
            "CAMOPS_UNRELATED": "ignored",
        }
    )
    assert s.namespaces == ("site-a", "site-b")
    assert s.storage_secure is False
    assert s.mediamtx_timeout == 2.0
    assert s.drift_interval == 0.5
    assert s.operator_namespace == "ops"
    assert s.mediamtx_password is not None
    assert "s3cret" not in repr(s)


@pytest.mark.parametrize(
    ("key", "value"),
    [("CAMOPS_STORAGE_SECURE", "maybe"), ("CAMOPS_HTTP_PORT", "eighty"), ("CAMOPS_DRIFT_INTERVAL", "soon")],
)
def test_bad_values_name_the_variable(key: str, value: str) -> None:
    with pytest.raises(SettingsError, match=key):
        OperatorSettings.from_env({key: value})


def test_fleet_event_sinks_are_read_and_checked() -> None:
    s = OperatorSettings.from_env(
        {
            "CAMOPS_EVENTS_WEBHOOK_URL": "http://events:8080/",
            "CAMOPS_EVENTS_NATS_URL": "",
            "CAMOPS_EVENTS_WEBHOOK_MODE": "binary",
        }
    )
    assert (s.events_webhook_url, s.events_webhook_mode, s.events_nats_url) == ("http://events:8080/", "binary", None)
    with pytest.raises(SettingsError, match=r"CAMOPS_EVENTS_WEBHOOK_URL.*http"):
        OperatorSettings.from_env({"CAMOPS_EVENTS_WEBHOOK_URL": "events:8080"})
    with pytest.raises(SettingsError, match="CAMOPS_EVENTS_NATS_URL"):
        OperatorSettings.from_env({"CAMOPS_EVENTS_NATS_URL": "http://nats:4222"})

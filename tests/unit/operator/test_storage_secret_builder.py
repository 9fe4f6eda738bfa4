"""The storage Secret's copy: only the keys workers read, named as the settings say, its source on it."""

from __future__ import annotations

from camops_operator.builders.storage_secret import COPIED_FROM, build_storage_secret_copy, missing_keys
from camops_operator.settings import OperatorSettings

SOURCE = {
    "metadata": {"name": "s3-creds", "namespace": "camops-system", "resourceVersion": "7", "uid": "u"},
    "type": "Opaque",
    "data": {"accessKey": "YQ==", "secretKey": "Yg==", "rootPassword": "cg=="},
}


def test_copy_holds_the_storage_keys_only() -> None:
    settings = OperatorSettings(storage_secret="camops-storage", operator_namespace="camops-system")  # noqa: S106
    copy = build_storage_secret_copy(SOURCE, "cameras", settings)
    assert copy["metadata"]["name"] == "camops-storage"
    assert copy["metadata"]["namespace"] == "cameras"
    assert copy["metadata"]["annotations"][COPIED_FROM] == "camops-system/s3-creds"
    assert copy["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "camops"
    assert copy["data"] == {"accessKey": "YQ==", "secretKey": "Yg=="}
    assert "resourceVersion" not in copy["metadata"]
    assert "uid" not in copy["metadata"]


def test_missing_keys_are_named_never_valued() -> None:
    assert missing_keys(SOURCE) == []
    assert missing_keys({"data": {"accessKey": "YQ=="}}) == ["secretKey"]
    assert missing_keys({}) == ["accessKey", "secretKey"]


def test_settings_read_the_copy_from_the_environment() -> None:
    env = {
        "CAMOPS_STORAGE_SECRET_SOURCE": "s3-creds",
        "CAMOPS_STORAGE_SECRET_NAMESPACES": "cameras, lobby",
        "CAMOPS_STORAGE_SECRET_INTERVAL": "30s",
    }
    settings = OperatorSettings.from_env(env)
    assert settings.storage_secret_source == "s3-creds"  # noqa: S105 - a Secret's name
    assert settings.storage_secret_namespaces == ("cameras", "lobby")
    assert settings.storage_secret_interval == 30.0
    assert OperatorSettings.from_env({"CAMOPS_STORAGE_SECRET_SOURCE": ""}).storage_secret_source is None

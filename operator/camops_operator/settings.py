"""The operator's settings, read once from the environment (the Helm chart's values land there).

Everything the builders need beyond the Camera itself comes from here: images,
the default object storage, MediaMTX's API, schedules and the operator's own
timing. ``from_env`` is pure (it takes the mapping), so tests build settings
without touching ``os.environ``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from camops_workers.units import parse_duration

__all__ = ["ENV_PREFIX", "OperatorSettings", "SettingsError"]

ENV_PREFIX = "CAMOPS_"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """An environment variable holds a value the operator cannot use (the message names it)."""


class OperatorSettings(BaseModel):
    """Operator-wide settings. Field ``foo_bar`` comes from ``CAMOPS_FOO_BAR``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespaces: tuple[str, ...] = Field(default=(), description="Watched namespaces; empty watches all.")
    operator_namespace: str = Field(
        default="camops-system", description="Where the operator runs (POD_NAMESPACE); holds its own records."
    )
    worker_image: str = Field(default="ghcr.io/camops/camops:0.1.0", description="Image of workers and jobs.")
    worker_image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    worker_service_account: str | None = Field(
        default="camops-worker", description="Service account of worker pods (patches cameras/status)."
    )
    worker_http_port: int = Field(default=8080, ge=1, le=65535, description="Workers' /healthz, /readyz, /metrics.")
    queue_mount_path: str = Field(default="/var/lib/camops/queue", description="Where the queue volume is mounted.")
    storage_endpoint: str | None = Field(default=None, description="Default S3 endpoint (host:port or URL).")
    storage_secure: bool = True
    storage_region: str | None = None
    storage_bucket: str = "camops"
    storage_secret: str = Field(
        default="camops-storage",
        description="Secret (keys accessKey, secretKey) expected in each Camera's namespace.",
    )
    storage_secret_source: str | None = Field(
        default=None,
        description="Secret in the operator's namespace the operator copies into each storage_secret_namespaces "
        "as storage_secret (keys accessKey, secretKey); empty: copied by hand.",
    )
    storage_secret_namespaces: tuple[str, ...] = Field(
        default=(), description="Camera namespaces that get the copy of storage_secret_source."
    )
    storage_secret_interval: float = Field(
        default=60.0, gt=0, description="Seconds between checks that every copy matches its source."
    )
    mediamtx_api_url: str | None = Field(default=None, description="MediaMTX control API, e.g. http://mediamtx:9997.")
    mediamtx_rtsp_url: str | None = Field(default=None, description="MediaMTX RTSP base, e.g. rtsp://mediamtx:8554.")
    mediamtx_username: str | None = None
    mediamtx_password: SecretStr | None = None
    mediamtx_timeout: float = Field(default=5.0, gt=0, description="Seconds per MediaMTX API call.")
    mediamtx_delete_timeout: float = Field(
        default=60.0, gt=0, description="Longest a Camera's deletion waits for MediaMTX before letting go."
    )
    events_webhook_url: str | None = Field(
        default=None, description="Fleet-wide CloudEvents webhook for Cameras without spec.events (http(s) URL)."
    )
    events_webhook_mode: Literal["structured", "binary"] = Field(
        default="structured", description="CloudEvents HTTP mode of the fleet-wide webhook."
    )
    events_nats_url: str | None = Field(
        default=None, description="Fleet-wide NATS server (nats:// URL) for Cameras without spec.events."
    )
    events_nats_subject: str | None = Field(
        default=None, description="Subject prefix on the fleet-wide NATS server; default camops.<namespace>.<camera>."
    )
    http_port: int = Field(default=8080, ge=0, le=65535, description="Operator /healthz and /metrics (0: off).")
    drain_schedule: str = Field(default="*/10 * * * *", description="Cron schedule of the queue drain jobs.")
    drain_max_seconds: int = Field(default=540, ge=1, description="Longest one drain run uploads.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    drift_interval: float = Field(default=60.0, gt=0, description="Seconds between MediaMTX drift repairs.")
    status_interval: float = Field(default=30.0, gt=0, description="Seconds between status roll-ups per Camera.")
    retry_delay: float = Field(default=10.0, gt=0, description="First backoff of a failed reconcile (seconds).")

    @field_validator("events_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("events_nats_url")
    @classmethod
    def _nats_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("nats://", "tls://")):
            raise ValueError("must be a nats:// or tls:// URL")
        return value

    @property
    def mediamtx_enabled(self) -> bool:
        return bool(self.mediamtx_api_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OperatorSettings:
        """Read ``CAMOPS_*`` variables; unknown ``CAMOPS_*`` names are ignored (workers share the prefix)."""
        raw: dict[str, object] = {}
        for name in cls.model_fields:
            key = ENV_PREFIX + name.upper()
            if key not in env:
                continue
            value = env[key].strip()
            raw[name] = _convert(cls, name, key, value)
        if "operator_namespace" not in raw and env.get("POD_NAMESPACE"):
            raw["operator_namespace"] = env["POD_NAMESPACE"]
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{ENV_PREFIX}{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
            )
            raise SettingsError(problems) from None


def _convert(cls: type[OperatorSettings], name: str, key: str, value: str) -> object:
    if name in {"namespaces", "storage_secret_namespaces"}:
        return tuple(ns.strip() for ns in value.split(",") if ns.strip())
    if name in {"storage_secure"}:
        lowered = value.lower()
        if lowered not in _TRUE | _FALSE:
            raise SettingsError(f"{key}: expected true or false, got {value!r}")
        return lowered in _TRUE
    if name in {
        "mediamtx_timeout",
        "mediamtx_delete_timeout",
        "drift_interval",
        "status_interval",
        "retry_delay",
        "storage_secret_interval",
    }:
        try:
            return float(value) if value.replace(".", "", 1).isdigit() else parse_duration(value)
        except ValueError as exc:
            raise SettingsError(f"{key}: {exc}") from None
    if (
        name
        in {
            "mediamtx_username",
            "mediamtx_password",
            "worker_service_account",
            "storage_endpoint",
            "storage_region",
            "storage_secret_source",
            "mediamtx_api_url",
            "mediamtx_rtsp_url",
            "events_webhook_url",
            "events_nats_url",
            "events_nats_subject",
        }
        and value == ""
    ):
        return None
    return value

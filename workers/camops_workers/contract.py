"""The worker contract: the config file the operator renders and ``camops capture`` reads.

It is the only coupling between the operator and a worker. Everything in it is
plain data; credentials are never in it — only the paths of files (mounted from
Secrets) or names of environment variables that hold them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from camops_workers.storage.keys import Layout, sanitize_name, sanitize_prefix

__all__ = [
    "CONTRACT_VERSION",
    "EVENT_TYPES",
    "AnalysisConfig",
    "CredentialRef",
    "EventType",
    "EventsConfig",
    "NatsSinkConfig",
    "PictureHealthConfig",
    "ProcessConfig",
    "QueueConfig",
    "RecordingConfig",
    "SnapshotConfig",
    "SourceConfig",
    "StatusReportConfig",
    "StorageConfig",
    "WebhookSinkConfig",
    "WorkerConfig",
    "load_config",
    "load_process_config",
]

CONTRACT_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CredentialRef(_Model):
    """Where one secret value comes from: a file (mounted Secret key) or an environment variable."""

    file: str | None = None
    env: str | None = None

    def read(self) -> str | None:
        """Return the value, or None when neither source is set or present."""
        import os

        if self.file:
            try:
                return Path(self.file).read_text(encoding="utf-8").strip()
            except FileNotFoundError:
                return None
        if self.env:
            return os.environ.get(self.env)
        return None


class SourceConfig(_Model):
    url: str = Field(description="rtsp://, rtsps://, http(s):// or file:// without credentials")
    username: CredentialRef | None = None
    password: CredentialRef | None = None
    transport: Literal["tcp", "udp"] = "tcp"
    connect_timeout_s: float = 10.0
    stall_timeout_s: float = 15.0
    #: An outage is announced (io.camops.camera.outage) once it lasted this long; shorter blips are only recorded.
    outage_debounce_s: float = Field(default=10.0, ge=0)
    #: persistent | per_snapshot | auto (decided from the interval and recording)
    session: Literal["auto", "persistent", "per_snapshot"] = "auto"


class SnapshotConfig(_Model):
    enabled: bool = True
    #: positive: a zero interval would end the capture thread at its first snapshot, again after every restart
    interval_s: float = Field(default=10.0, gt=0)
    quality: int = Field(default=85, ge=1, le=100)
    max_width: int | None = Field(default=None, ge=16)


class RecordingConfig(_Model):
    enabled: bool = False
    segment_duration_s: float = 60.0
    format: Literal["mp4"] = "mp4"


class PictureHealthConfig(_Model):
    """Thresholds of the picture checks on every snapshot (``camops_workers.picture``).

    Luma levels are full range (0-255) on a small thumbnail of the picture. A state is entered
    after ``enter_after`` snapshots in a row show it and left after ``exit_after`` that do not.
    """

    enabled: bool = True
    enter_after: int = Field(default=3, ge=1, le=1000)
    exit_after: int = Field(default=2, ge=1, le=1000)
    #: Mean luma change between two snapshots at or below which the picture counts as unchanged.
    frozen_max_change: float = Field(default=0.5, ge=0, le=255)
    black_max_luma: float = Field(default=16.0, ge=0, le=255)
    black_max_contrast: float = Field(default=8.0, ge=0, le=255)
    #: Share of the picture within ``uniform_tolerance`` levels of its most common luma.
    uniform_min_share: float = Field(default=0.95, gt=0, le=1)
    uniform_tolerance: int = Field(default=8, ge=0, le=64)
    #: Sharpness below this share of the learned reference's sharpness is Blurred.
    blur_max_ratio: float = Field(default=0.6, gt=0, le=1)
    #: Share of the view that differs from the learned reference at or above which the scene changed.
    scene_min_distance: float = Field(default=0.4, gt=0, le=1)
    #: Healthy snapshots averaged into the first reference view.
    reference_snapshots: int = Field(default=5, ge=1, le=10_000)
    #: Weight of each later healthy snapshot in the reference (slow: day and night are not a move).
    reference_rate: float = Field(default=0.02, ge=0, le=1)


class StorageConfig(_Model):
    #: "s3" (MinIO or any S3 API) or "local" (a folder, for local mode)
    kind: Literal["s3", "local"] = "s3"
    endpoint: str | None = Field(default=None, description="host:port or URL of the S3 API")
    secure: bool = True
    region: str | None = None
    bucket: str = "camops"
    create_bucket: bool = True
    access_key: CredentialRef | None = None
    secret_key: CredentialRef | None = None
    directory: str | None = Field(default=None, description="root folder for kind=local")
    prefix: str = ""
    layout: Layout = Layout.DATED

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return sanitize_prefix(value)


class QueueConfig(_Model):
    directory: str = "/var/lib/camops/queue"
    max_bytes: int = 2 * 1024**3
    max_items: int = 100_000
    max_age_s: float = 7 * 86400.0
    overflow: Literal["dropOldest", "rejectNew"] = "dropOldest"
    uploaders: int = Field(default=3, ge=1, le=64)
    #: bytes kept free on the queue volume so uploads can still lease and delete; None: 1/16 of the volume,
    #: 1 to 64 MiB (under dropOldest the oldest items are dropped to keep it free, else new captures are refused)
    min_free_bytes: int | None = Field(default=None, ge=0)


class StatusReportConfig(_Model):
    """Where the worker reports ``status.capture`` (in a cluster); None outside one."""

    namespace: str
    name: str
    min_interval_s: float = 10.0


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return value


class AnalysisConfig(_Model):
    """Frames POSTed to an inference endpoint; the JSON answers stored beside the snapshots.

    The analysis rate is the snapshot rate divided by ``every_nth_snapshot``: it can never
    exceed what the source delivers. Request format: see ``camops_workers.analysis.request``.
    """

    endpoint: str = Field(description="http(s) URL frames are POSTed to (no credentials in it)")
    every_nth_snapshot: int = Field(default=1, ge=1)
    timeout_s: float = Field(default=5.0, gt=0)
    max_in_flight: int = Field(default=2, ge=1, le=64)
    buffer_size: int = Field(default=30, ge=1, le=10_000)
    #: Re-encode before sending when either is set; otherwise the stored JPEG bytes are sent.
    jpeg_quality: int | None = Field(default=None, ge=1, le=100)
    max_width: int | None = Field(default=None, ge=16)
    headers: dict[str, str] = Field(default_factory=dict)
    bearer_token: CredentialRef | None = None
    store_results: bool = True
    breaker_failures: int = Field(default=5, ge=1)
    breaker_open_s: float = Field(default=5.0, gt=0)
    breaker_max_open_s: float = Field(default=120.0, gt=0)

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        return _http_url(value)


#: CloudEvents types a worker publishes.
EventType = Literal[
    "io.camops.snapshot.stored",
    "io.camops.segment.closed",
    "io.camops.analysis.result",
    "io.camops.camera.state",
    "io.camops.camera.picture",
    "io.camops.camera.outage",
]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)


class WebhookSinkConfig(_Model):
    url: str
    #: structured: the whole event as application/cloudevents+json; binary: ce-* headers, data as the body.
    mode: Literal["structured", "binary"] = "structured"
    timeout_s: float = Field(default=5.0, gt=0)
    headers: dict[str, str] = Field(default_factory=dict)
    bearer_token: CredentialRef | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)


class NatsSinkConfig(_Model):
    servers: list[str] = Field(min_length=1, description="nats:// or tls:// URLs")
    #: Subject prefix; events go to ``<subject>.<type without io.camops.>``. Default ``camops.<namespace>.<camera>``.
    subject: str | None = None
    token: CredentialRef | None = None


class EventsConfig(_Model):
    """CloudEvents about what the worker captured, published from a bounded outbox per sink."""

    #: CloudEvents ``source``; default ``/camops/<namespace>/<camera>``.
    source: str | None = None
    types: list[EventType] = Field(default_factory=lambda: list(EVENT_TYPES))
    outbox_size: int = Field(default=1000, ge=1, le=100_000)
    webhook: WebhookSinkConfig | None = None
    nats: NatsSinkConfig | None = None


class WorkerConfig(_Model):
    version: Literal[1] = 1
    camera: str = Field(description="Camera name, the key segment of every object")
    namespace: str = "default"
    source: SourceConfig
    snapshots: SnapshotConfig = SnapshotConfig()
    recording: RecordingConfig = RecordingConfig()
    storage: StorageConfig = StorageConfig()
    queue: QueueConfig = QueueConfig()
    http_host: str = "0.0.0.0"  # noqa: S104 - the pod's probes and scrapes come from outside
    http_port: int = Field(default=8080, ge=0, le=65535)
    report: StatusReportConfig | None = None
    analysis: AnalysisConfig | None = None
    events: EventsConfig | None = None
    health: PictureHealthConfig = PictureHealthConfig()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("camera")
    @classmethod
    def _camera(cls, value: str) -> str:
        return sanitize_name(value)


def load_config(path: str | Path) -> WorkerConfig:
    """Read and validate a contract file (JSON)."""
    return WorkerConfig.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))


class ProcessConfig(_Model):
    """The contract of one worker process: a list of cameras sharing one queue and one HTTP server.

    A pool worker reads one per pod from its pool's assignment ConfigMap (``worker-<ordinal>.json``);
    a single :class:`WorkerConfig` (a Camera with a Deployment of its own) is the list of one.
    ``worker`` is the pod's name, reported as each camera's ``status.worker``.
    """

    version: Literal[1] = 1
    pool: str | None = None
    worker: str | None = None
    cameras: list[WorkerConfig] = Field(default_factory=list)
    queue: QueueConfig = QueueConfig()
    storage: StorageConfig = StorageConfig()
    http_host: str = "0.0.0.0"  # noqa: S104 - the pod's probes and scrapes come from outside
    http_port: int = Field(default=8080, ge=0, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @classmethod
    def of(cls, config: WorkerConfig) -> ProcessConfig:
        """The list of one: a Camera's own worker."""
        return cls(
            cameras=[config],
            queue=config.queue,
            storage=config.storage,
            http_host=config.http_host,
            http_port=config.http_port,
            log_level=config.log_level,
        )


def load_process_config(path: str | Path) -> ProcessConfig:
    """Read either contract shape: a process's list of cameras, or one camera's WorkerConfig (the list of one)."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(raw, dict) and "cameras" in raw:
        return ProcessConfig.model_validate(raw)
    return ProcessConfig.of(WorkerConfig.model_validate(raw))

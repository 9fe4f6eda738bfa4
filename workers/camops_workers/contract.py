"""The worker contract: the config file the operator renders and ``camops capture`` reads.

It is the only coupling between the operator and a worker. Everything in it is
plain data; credentials are never in it — only the paths of files (mounted from
Secrets) or names of environment variables that hold them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from camops_workers.storage.keys import Layout, sanitize_name, sanitize_prefix

__all__ = [
    "CONTRACT_VERSION",
    "CredentialRef",
    "QueueConfig",
    "RecordingConfig",
    "SnapshotConfig",
    "SourceConfig",
    "StatusReportConfig",
    "StorageConfig",
    "WorkerConfig",
    "load_config",
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
    #: persistent | per_snapshot | auto (decided from the interval and recording)
    session: Literal["auto", "persistent", "per_snapshot"] = "auto"


class SnapshotConfig(_Model):
    enabled: bool = True
    interval_s: float = 10.0
    quality: int = Field(default=85, ge=1, le=100)
    max_width: int | None = Field(default=None, ge=16)


class RecordingConfig(_Model):
    enabled: bool = False
    segment_duration_s: float = 60.0
    format: Literal["mp4"] = "mp4"


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


class StatusReportConfig(_Model):
    """Where the worker reports ``status.capture`` (in a cluster); None outside one."""

    namespace: str
    name: str
    min_interval_s: float = 10.0


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
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("camera")
    @classmethod
    def _camera(cls, value: str) -> str:
        return sanitize_name(value)


def load_config(path: str | Path) -> WorkerConfig:
    """Read and validate a contract file (JSON)."""
    return WorkerConfig.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))

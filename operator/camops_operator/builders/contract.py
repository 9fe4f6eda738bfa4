"""Camera spec → worker contract (``camops_workers.contract.WorkerConfig``): the one mapping.

The operator renders it into the worker's ConfigMap; local mode calls the same
function with its own :class:`ContractEnvironment`. Credentials never enter the
contract: only where to read them (a file mounted from a Secret, or an
environment variable name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from camops_operator.api.camera import Camera
from camops_workers.contract import (
    EVENT_TYPES,
    AnalysisConfig,
    CredentialRef,
    EventsConfig,
    NatsSinkConfig,
    PictureHealthConfig,
    QueueConfig,
    RecordingConfig,
    SnapshotConfig,
    SourceConfig,
    StatusReportConfig,
    StorageConfig,
    WebhookSinkConfig,
    WorkerConfig,
)
from camops_workers.storage.keys import Layout

__all__ = [
    "CAMERA_CREDENTIALS_DIR",
    "STORAGE_CREDENTIALS_DIR",
    "TOKENS_DIR",
    "ContractEnvironment",
    "ContractError",
    "CredentialLocation",
    "build_worker_contract",
    "mediamtx_path_name",
    "queue_limits",
    "token_secrets",
]

#: Where the worker pod mounts the camera's credentials Secret (files ``username`` and ``password``).
CAMERA_CREDENTIALS_DIR = "/etc/camops/camera"
#: Where the worker pod mounts the storage Secret (files ``accessKey`` and ``secretKey``).
STORAGE_CREDENTIALS_DIR = "/etc/camops/storage"
#: Where the worker pod mounts the token Secrets of spec.analysis and spec.events: one folder per
#: purpose (``analysis``, ``events-webhook``, ``events-nats``), each holding a file ``token``.
TOKENS_DIR = "/etc/camops/tokens"
#: Share of the queue volume the queue may fill when ``offlineQueue.maxBytes`` is not set.
QUEUE_FILL_RATIO = 0.9


class ContractError(ValueError):
    """The Camera cannot be rendered in this environment (the message says why)."""


@dataclass(frozen=True)
class CredentialLocation:
    """Where the camera's username and password are: files in a directory, or environment variables."""

    directory: str | None = None
    username_env: str | None = None
    password_env: str | None = None

    def username(self) -> CredentialRef:
        if self.directory:
            return CredentialRef(file=f"{self.directory.rstrip('/')}/username")
        return CredentialRef(env=self.username_env)

    def password(self) -> CredentialRef:
        if self.directory:
            return CredentialRef(file=f"{self.directory.rstrip('/')}/password")
        return CredentialRef(env=self.password_env)


@dataclass(frozen=True)
class ContractEnvironment:
    """What the worker's world looks like: storage defaults, queue folder, where secrets are, reporting.

    ``storage`` carries the defaults (kind, endpoint, secure, region, bucket and
    the credential references); a Camera's ``spec.storage`` overrides bucket,
    endpoint, prefix and layout.
    """

    storage: StorageConfig
    queue_directory: str
    camera_credentials: CredentialLocation = field(default_factory=lambda: CredentialLocation(CAMERA_CREDENTIALS_DIR))
    mediamtx_rtsp_url: str | None = None
    http_port: int = 8080
    report_status: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    tokens_directory: str = TOKENS_DIR
    #: Event sinks for Cameras without spec.events (e.g. a fleet-wide webhook from the operator's settings).
    default_events: EventsConfig | None = None


def mediamtx_path_name(camera: Camera) -> str:
    """The camera's MediaMTX path: ``spec.mediamtx.path`` or ``<namespace>-<name>``."""
    return camera.spec.mediamtx.path or f"{camera.namespace}-{camera.name}"


def queue_limits(camera: Camera) -> tuple[int, int | None]:
    """(max_bytes, max_items) of the offline queue: explicit limits, else 90% of the volume."""
    spec = camera.spec.offline_queue
    size = spec.size.bytes
    max_bytes = spec.max_bytes.bytes if spec.max_bytes else int(size * QUEUE_FILL_RATIO)
    return max_bytes, spec.max_items


def _source(camera: Camera, env: ContractEnvironment) -> SourceConfig:
    spec = camera.spec.source
    connect_s = spec.connect_timeout.seconds
    stall_s = spec.stall_timeout.seconds
    debounce_s = spec.outage_debounce.seconds
    if spec.via == "mediamtx":
        if not env.mediamtx_rtsp_url:
            raise ContractError(
                "spec.source.via: mediamtx needs the operator's MediaMTX RTSP URL (CAMOPS_MEDIAMTX_RTSP_URL)"
            )
        url = f"{env.mediamtx_rtsp_url.rstrip('/')}/{mediamtx_path_name(camera)}"
        return SourceConfig(
            url=url,
            transport="tcp",
            connect_timeout_s=connect_s,
            stall_timeout_s=stall_s,
            outage_debounce_s=debounce_s,
        )
    creds = spec.credentials_secret_ref is not None
    return SourceConfig(
        url=spec.url,
        username=env.camera_credentials.username() if creds else None,
        password=env.camera_credentials.password() if creds else None,
        transport=spec.transport,
        connect_timeout_s=connect_s,
        stall_timeout_s=stall_s,
        outage_debounce_s=debounce_s,
    )


def _storage(camera: Camera, env: ContractEnvironment) -> StorageConfig:
    spec = camera.spec.storage
    updates: dict[str, object] = {"prefix": spec.prefix, "layout": Layout(spec.layout)}
    if spec.bucket:
        updates["bucket"] = spec.bucket
    if spec.endpoint:
        updates["endpoint"] = spec.endpoint
    return StorageConfig.model_validate({**env.storage.model_dump(), **updates})


def _queue(camera: Camera, env: ContractEnvironment) -> QueueConfig:
    spec = camera.spec.offline_queue
    max_bytes, max_items = queue_limits(camera)
    extra = {"max_items": max_items} if max_items is not None else {}
    return QueueConfig(
        directory=env.queue_directory,
        max_bytes=max_bytes,
        max_age_s=spec.max_age.seconds,
        overflow=spec.overflow,
        **extra,
    )


def token_secrets(camera: Camera) -> list[tuple[str, str, str]]:
    """(purpose, Secret name, key) of every token Secret of spec.analysis and spec.events.

    The worker reads each from ``<tokens_directory>/<purpose>/token``; the Deployment mounts them there.
    """
    out: list[tuple[str, str, str]] = []
    analysis, events = camera.spec.analysis, camera.spec.events
    if analysis is not None and analysis.bearer_token_secret_ref is not None:
        out.append(("analysis", analysis.bearer_token_secret_ref.name, analysis.bearer_token_secret_ref.key))
    if events is not None and events.webhook is not None and events.webhook.bearer_token_secret_ref is not None:
        ref = events.webhook.bearer_token_secret_ref
        out.append(("events-webhook", ref.name, ref.key))
    if events is not None and events.nats is not None and events.nats.token_secret_ref is not None:
        out.append(("events-nats", events.nats.token_secret_ref.name, events.nats.token_secret_ref.key))
    return out


def _token(env: ContractEnvironment, purpose: str) -> CredentialRef:
    return CredentialRef(file=f"{env.tokens_directory.rstrip('/')}/{purpose}/token")


def _analysis(camera: Camera, env: ContractEnvironment) -> AnalysisConfig | None:
    spec = camera.spec.analysis
    if spec is None:
        return None
    return AnalysisConfig(
        endpoint=spec.endpoint,
        every_nth_snapshot=spec.every_nth_snapshot,
        timeout_s=spec.timeout.seconds,
        max_in_flight=spec.max_in_flight,
        buffer_size=spec.buffer_size,
        jpeg_quality=spec.jpeg_quality,
        max_width=spec.max_width,
        headers=dict(spec.headers),
        bearer_token=_token(env, "analysis") if spec.bearer_token_secret_ref is not None else None,
        store_results=spec.store_results,
    )


def _events(camera: Camera, env: ContractEnvironment) -> EventsConfig | None:
    spec = camera.spec.events
    if spec is None:
        return env.default_events
    webhook = nats = None
    if spec.webhook is not None:
        webhook = WebhookSinkConfig(
            url=spec.webhook.url,
            mode=spec.webhook.mode,
            timeout_s=spec.webhook.timeout.seconds,
            headers=dict(spec.webhook.headers),
            bearer_token=_token(env, "events-webhook") if spec.webhook.bearer_token_secret_ref is not None else None,
        )
    if spec.nats is not None:
        nats = NatsSinkConfig(
            servers=[spec.nats.url],
            subject=spec.nats.subject,
            token=_token(env, "events-nats") if spec.nats.token_secret_ref is not None else None,
        )
    return EventsConfig(
        types=list(spec.types) if spec.types is not None else list(EVENT_TYPES),
        outbox_size=spec.outbox_size,
        webhook=webhook,
        nats=nats,
    )


def build_worker_contract(camera: Camera, env: ContractEnvironment) -> WorkerConfig:
    """The worker contract for ``camera`` in ``env`` (pure; raises :class:`ContractError`)."""
    spec = camera.spec
    try:
        return WorkerConfig(
            camera=camera.name,
            namespace=camera.namespace,
            source=_source(camera, env),
            snapshots=SnapshotConfig(
                enabled=spec.snapshots.enabled,
                interval_s=spec.snapshots.interval.seconds,
                quality=spec.snapshots.quality,
                max_width=spec.snapshots.max_width,
            ),
            recording=RecordingConfig(
                enabled=spec.recording.enabled,
                segment_duration_s=spec.recording.segment_duration.seconds,
                format=spec.recording.format,
            ),
            storage=_storage(camera, env),
            queue=_queue(camera, env),
            http_port=env.http_port,
            report=StatusReportConfig(namespace=camera.namespace, name=camera.name) if env.report_status else None,
            log_level=env.log_level,
            analysis=_analysis(camera, env),
            events=_events(camera, env),
            health=PictureHealthConfig(**spec.health.model_dump()),
        )
    except ValueError as exc:
        if isinstance(exc, ContractError):
            raise
        raise ContractError(str(exc)) from exc

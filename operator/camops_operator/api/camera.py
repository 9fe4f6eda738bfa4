"""The ``Camera`` resource (camops.io/v1alpha1): one per camera.

These models are the single source of truth: ``crds/cameras.camops.io.yaml`` and
the CRD reference in ``docs/`` are generated from them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from camops_operator.api.common import (
    Condition,
    Duration,
    DurationText,
    ObjectMeta,
    Quantity,
    QuantityText,
    Rule,
    SpecModel,
    StatusModel,
    rules_schema,
    run_rules,
)
from camops_workers.contract import EventType

__all__ = [
    "CAMERA_RULES",
    "AnalysisSpec",
    "Camera",
    "CameraPhase",
    "CameraSpec",
    "CameraStatus",
    "CaptureStatus",
    "CredentialsSecretRef",
    "EventsSpec",
    "HealthSpec",
    "MediaMTXSpec",
    "NatsEventsSpec",
    "OfflineQueueSpec",
    "OutageStatus",
    "PictureMeasures",
    "PictureStatus",
    "RecordingSpec",
    "ResourceRequirements",
    "SecretKeyRef",
    "SnapshotsSpec",
    "SourceSpec",
    "StorageSecretRef",
    "StorageSpec",
    "StreamStatus",
    "Toleration",
    "WebhookEventsSpec",
    "WorkerSpec",
]

URL_PATTERN = r"^(rtsp|rtsps|http|https|file)://.+$"


class CredentialsSecretRef(SpecModel):
    """A Secret in the Camera's namespace holding the camera's username and password."""

    name: str = Field(min_length=1, max_length=253, description="Name of the Secret.")
    username_key: str = Field(default="username", max_length=253, description="Key of the username in the Secret.")
    password_key: str = Field(default="password", max_length=253, description="Key of the password in the Secret.")


class SourceSpec(SpecModel):
    """Where the camera's pictures come from."""

    url: str = Field(
        max_length=2048,
        pattern=URL_PATTERN,
        description=(
            "Stream or snapshot URL without credentials: rtsp://, rtsps:// (H.264/H.265 stream), "
            "http(s):// (a JPEG snapshot URL) or file:// (a clip looped in real time, for local runs)."
        ),
    )
    credentials_secret_ref: CredentialsSecretRef | None = Field(
        default=None,
        description="Secret with the camera's username and password; mounted into the worker as files, never copied.",
    )
    transport: Literal["tcp", "udp"] = Field(default="tcp", description="RTSP transport: tcp (default) or udp.")
    via: Literal["direct", "mediamtx"] = Field(
        default="direct",
        description=(
            "direct: the worker connects to the camera. mediamtx: the worker reads the camera's MediaMTX path, "
            "so the camera serves one connection however many readers there are (needs spec.mediamtx.enabled)."
        ),
    )
    connect_timeout: Duration = Field(
        default=DurationText("10s"), description="How long to wait for the camera to answer."
    )
    stall_timeout: Duration = Field(
        default=DurationText("15s"), description="No packets for this long means the stream stalled: reconnect."
    )
    outage_debounce: Duration = Field(
        default=DurationText("10s"),
        description=(
            "A source away this long is announced (io.camops.camera.outage disconnected, then reconnected); "
            "shorter blips are only recorded in status.capture.outages."
        ),
    )


class SnapshotsSpec(SpecModel):
    """JPEG snapshots taken from the stream."""

    enabled: bool = Field(default=True, description="Take snapshots.")
    interval: Duration = Field(default=DurationText("10s"), description="Time between two snapshots, e.g. 1s, 10s, 5m.")
    quality: int = Field(default=85, ge=1, le=100, description="JPEG quality, 1 to 100.")
    max_width: int | None = Field(
        default=None, ge=16, le=16384, description="Downscale wider pictures to this width (keeps aspect ratio)."
    )


class RecordingSpec(SpecModel):
    """Video segments remuxed from the camera's packets (never re-encoded)."""

    enabled: bool = Field(default=False, description="Record segments.")
    segment_duration: Duration = Field(
        default=DurationText("60s"), description="Target length of one segment; segments are cut at keyframes."
    )
    format: Literal["mp4"] = Field(default="mp4", description="Container format of the segments.")


class StorageSecretRef(SpecModel):
    """A Secret with S3 credentials, overriding the operator's default storage credentials."""

    name: str = Field(min_length=1, max_length=253, description="Name of the Secret.")
    access_key_key: str = Field(default="accessKey", description="Key of the access key in the Secret.")
    secret_key_key: str = Field(default="secretKey", description="Key of the secret key in the Secret.")


class StorageSpec(SpecModel):
    """Where snapshots and segments are stored (S3-compatible object storage such as MinIO)."""

    bucket: str | None = Field(
        default=None,
        min_length=3,
        max_length=63,
        pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        description="Bucket name; defaults to the operator's default bucket.",
    )
    prefix: str = Field(
        default="",
        max_length=512,
        pattern=r"^[A-Za-z0-9._/-]*$",
        description="Key prefix before the camera's name, e.g. site-a. No '..' segments.",
    )
    layout: Literal["dated", "latest", "flat"] = Field(
        default="dated",
        description=(
            "dated: <prefix>/<camera>/<YYYY-MM>/<DD>/<HHMMSS.mmm>.jpg plus <prefix>/<camera>/latest.jpg; "
            "latest: one object overwritten (live dashboards); flat: timestamp in the name."
        ),
    )
    endpoint: str | None = Field(
        default=None, max_length=512, description="S3 endpoint (host:port or URL); defaults to the operator's."
    )
    secret_ref: StorageSecretRef | None = Field(
        default=None, description="Secret with S3 credentials; defaults to the operator's storage Secret."
    )


class OfflineQueueSpec(SpecModel):
    """The durable queue on local disk that holds captures while storage or the network is down."""

    volume: Literal["persistentVolumeClaim", "emptyDir"] = Field(
        default="persistentVolumeClaim",
        description="persistentVolumeClaim (survives pod restarts) or emptyDir (lost with the pod).",
    )
    size: Quantity = Field(default=QuantityText("2Gi"), description="Size of the queue volume.")
    storage_class_name: str | None = Field(default=None, description="StorageClass of the queue volume's claim.")
    max_bytes: Quantity | None = Field(
        default=None, description="Most bytes queued before the overflow policy applies; defaults to 90% of size."
    )
    max_items: int | None = Field(
        default=None, ge=1, description="Most items queued before the overflow policy applies."
    )
    max_age: Duration = Field(
        default=DurationText("7d"), description="Queued items older than this expire (counted, never silent)."
    )
    overflow: Literal["dropOldest", "rejectNew"] = Field(
        default="dropOldest",
        description="When the queue is full: dropOldest (keep the newest) or rejectNew (keep the oldest).",
    )
    keep_on_delete: bool = Field(
        default=False,
        description="Keep the queue's claim when the Camera is deleted (it must then be removed by hand).",
    )


class MediaMTXSpec(SpecModel):
    """A MediaMTX path for this camera, managed through MediaMTX's control API."""

    enabled: bool = Field(default=False, description="Manage a MediaMTX path for this camera.")
    path: str | None = Field(
        default=None,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.~-]*$",
        description="Path name; defaults to <namespace>-<name>.",
    )
    source_on_demand: bool = Field(default=False, description="Pull the camera only while someone reads the path.")
    record: bool = Field(default=False, description="Let MediaMTX record the path to its own disk.")
    record_delete_after: Duration | None = Field(
        default=None, description="Delete MediaMTX's recordings after this long; a RetentionPolicy may set it."
    )


class Toleration(SpecModel):
    """A core/v1 Toleration for the worker pod."""

    key: str | None = Field(default=None, description="Taint key the toleration applies to.")
    operator: Literal["Exists", "Equal"] | None = Field(default=None, description="Exists or Equal.")
    value: str | None = Field(default=None, description="Taint value the toleration matches.")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        default=None, description="Taint effect to match; empty matches all."
    )
    toleration_seconds: int | None = Field(default=None, description="How long a NoExecute taint is tolerated.")


class ResourceRequirements(SpecModel):
    """CPU and memory for the worker container."""

    requests: dict[str, str] = Field(default_factory=dict, description="Requested resources, e.g. cpu: 50m.")
    limits: dict[str, str] = Field(default_factory=dict, description="Resource limits, e.g. memory: 256Mi.")


class WorkerSpec(SpecModel):
    """How the camera's capture worker pod runs."""

    image: str | None = Field(default=None, max_length=512, description="Worker image; defaults to the operator's.")
    resources: ResourceRequirements | None = Field(default=None, description="Container resources.")
    node_selector: dict[str, str] = Field(default_factory=dict, description="Node labels the worker must run on.")
    tolerations: list[Toleration] = Field(default_factory=list, description="Taints the worker tolerates.")


class SecretKeyRef(SpecModel):
    """One key of a Secret in the Camera's namespace, mounted into the worker as a file."""

    name: str = Field(min_length=1, max_length=253, description="Name of the Secret.")
    key: str = Field(default="token", min_length=1, max_length=253, description="Key in the Secret.")


class AnalysisSpec(SpecModel):
    """Frames handed to an inference service (plates, people, intrusion...); answers stored beside the snapshots.

    The worker POSTs one JPEG per analysed snapshot (camera, capture time and object key in
    X-Camops-* headers) and stores the JSON answer as ``<snapshot key>.json``. A slow or dead
    endpoint never slows capture: frames beyond the buffer are dropped (counted), failures open
    a circuit breaker. See docs/analysis.md.
    """

    endpoint: str = Field(
        max_length=2048,
        description="http:// or https:// URL the frames are POSTed to; no credentials in it (see bearerTokenSecretRef)",
    )
    every_nth_snapshot: int = Field(
        default=1,
        ge=1,
        le=100000,
        description=(
            "Analyse one snapshot in N. The analysis rate is the snapshot rate (1 / spec.snapshots.interval) "
            "divided by N, so it can never exceed what the source delivers."
        ),
    )
    timeout: Duration = Field(
        default=DurationText("5s"), description="How long one request may take before it counts as failed."
    )
    max_in_flight: int = Field(default=2, ge=1, le=64, description="Requests sent at the same time, at most.")
    buffer_size: int = Field(
        default=30,
        ge=1,
        le=10000,
        description="Frames waiting for a free request; when full, the oldest is dropped (counted).",
    )
    jpeg_quality: int | None = Field(
        default=None, ge=1, le=100, description="Re-encode frames at this quality; unset sends the stored JPEG."
    )
    max_width: int | None = Field(
        default=None, ge=16, le=16384, description="Downscale frames wider than this before sending."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra request headers (not secret: they are part of the Camera)."
    )
    bearer_token_secret_ref: SecretKeyRef | None = Field(
        default=None, description="Secret key holding a token sent as 'Authorization: Bearer <token>'."
    )
    store_results: bool = Field(default=True, description="Store each JSON answer as <snapshot key>.json.")


class WebhookEventsSpec(SpecModel):
    """An HTTP endpoint receiving CloudEvents."""

    url: str = Field(max_length=2048, description="http:// or https:// URL the CloudEvents are POSTed to.")
    mode: Literal["structured", "binary"] = Field(
        default="structured",
        description="structured: the event as application/cloudevents+json; binary: ce-* headers, data as the body.",
    )
    timeout: Duration = Field(default=DurationText("5s"), description="How long one delivery may take.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers (not secret).")
    bearer_token_secret_ref: SecretKeyRef | None = Field(
        default=None, description="Secret key holding a token sent as 'Authorization: Bearer <token>'."
    )


class NatsEventsSpec(SpecModel):
    """A NATS server receiving CloudEvents (structured JSON), one subject per event type."""

    url: str = Field(max_length=2048, description="nats:// or tls:// URL of the NATS server.")
    subject: str | None = Field(
        default=None,
        max_length=255,
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="Subject prefix; events go to <subject>.snapshot.stored etc. Default camops.<namespace>.<camera>.",
    )
    token_secret_ref: SecretKeyRef | None = Field(default=None, description="Secret key holding a NATS auth token.")


class EventsSpec(SpecModel):
    """CloudEvents for what the camera captured: io.camops.snapshot.stored, io.camops.segment.closed,
    io.camops.analysis.result, io.camops.camera.state and io.camops.camera.picture. Publishing never blocks capture."""

    types: list[EventType] | None = Field(default=None, description="Event types to publish; all when unset.")
    outbox_size: int = Field(
        default=1000,
        ge=1,
        le=100000,
        description="Undelivered events kept per sink; beyond it the oldest is dropped (counted).",
    )
    webhook: WebhookEventsSpec | None = Field(default=None, description="Deliver to an HTTP webhook.")
    nats: NatsEventsSpec | None = Field(default=None, description="Publish to NATS.")


class HealthSpec(SpecModel):
    """Picture health: every snapshot's picture is checked for Frozen, Black, Uniform (covered),
    Blurred and SceneChanged (moved) on a small luma thumbnail; the state shows in the
    PictureHealthy condition and status.capture.picture. Luma levels are 0-255. See docs/picture-health.md."""

    enabled: bool = Field(default=True, description="Check the picture of every snapshot.")
    enter_after: int = Field(
        default=3, ge=1, le=1000, description="Snapshots in a row that show a fault before it is reported."
    )
    exit_after: int = Field(
        default=2, ge=1, le=1000, description="Snapshots in a row without the fault before it clears."
    )
    frozen_max_change: float = Field(
        default=0.5,
        ge=0,
        le=255,
        description=(
            "Mean luma change between two snapshots at or below which the picture counts as unchanged "
            "(a live scene changes by its sensor noise, 1-4 levels)."
        ),
    )
    black_max_luma: float = Field(
        default=16, ge=0, le=255, description="Black: mean luma at or below this, with blackMaxContrast."
    )
    black_max_contrast: float = Field(
        default=8, ge=0, le=255, description="Black: luma standard deviation at or below this, with blackMaxLuma."
    )
    uniform_min_share: float = Field(
        default=0.95,
        ge=0.01,
        le=1,
        description="Uniform (covered, one colour): this share of the picture within uniformTolerance of one luma.",
    )
    uniform_tolerance: int = Field(default=8, ge=0, le=64, description="Luma levels around the most common one.")
    blur_max_ratio: float = Field(
        default=0.6,
        ge=0.01,
        le=1,
        description="Blurred: edge sharpness below this share of the learned reference's.",
    )
    scene_min_distance: float = Field(
        default=0.4,
        ge=0.01,
        le=1,
        description=(
            "SceneChanged (moved, tampered): at least this share of the view (cells of a coarse grid, "
            "brightness and contrast normalised) differs from the learned reference. A passing truck "
            "changes a few cells, a camera knocked sideways most of them."
        ),
    )
    reference_snapshots: int = Field(
        default=5, ge=1, le=10000, description="Healthy snapshots averaged into the first reference view."
    )
    reference_rate: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="Weight of each later healthy snapshot in the reference (slow, so day and night are no move).",
    )


def _is_http(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def _has_userinfo(url: str) -> bool:
    return "@" in url.split("://", 1)[-1].split("/", 1)[0]


CAMERA_RULES: list[Rule[CameraSpec]] = [
    Rule(
        cel="self.snapshots.enabled || self.recording.enabled",
        message="nothing to capture: enable spec.snapshots or spec.recording (or both)",
        check=lambda s: s.snapshots.enabled or s.recording.enabled,
    ),
    Rule(
        cel=(
            "!self.recording.enabled || "
            "!(self.source.url.startsWith('http://') || self.source.url.startsWith('https://'))"
        ),
        message=(
            "an http(s) snapshot URL has no video to record: "
            "spec.recording needs an rtsp://, rtsps:// or file:// source"
        ),
        check=lambda s: not (s.recording.enabled and _is_http(s.source.url)),
    ),
    Rule(
        cel=(
            "self.source.via != 'mediamtx' || "
            "self.source.url.startsWith('rtsp://') || self.source.url.startsWith('rtsps://')"
        ),
        message="spec.source.via: mediamtx needs an rtsp:// or rtsps:// source URL",
        check=lambda s: s.source.via != "mediamtx" or s.source.url.startswith(("rtsp://", "rtsps://")),
    ),
    Rule(
        cel="self.source.via != 'mediamtx' || self.mediamtx.enabled",
        message="spec.source.via: mediamtx needs spec.mediamtx.enabled: true",
        check=lambda s: s.source.via != "mediamtx" or s.mediamtx.enabled,
    ),
    Rule(
        cel="!self.source.url.matches('^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*@')",
        message=(
            "spec.source.url must not contain credentials: "
            "put them in a Secret named by spec.source.credentialsSecretRef"
        ),
        check=lambda s: "@" not in s.source.url.split("://", 1)[-1].split("/", 1)[0],
        field_path=".source.url",
    ),
    Rule(
        cel="!has(self.mediamtx.recordDeleteAfter) || self.mediamtx.record",
        message="spec.mediamtx.recordDeleteAfter only applies with spec.mediamtx.record: true",
        check=lambda s: s.mediamtx.record_delete_after is None or s.mediamtx.record,
    ),
    Rule(
        cel="!has(self.analysis) || self.snapshots.enabled",
        message=(
            "spec.analysis needs spec.snapshots.enabled: true: frames are analysed from the snapshots, "
            "at most at the snapshot rate (one in spec.analysis.everyNthSnapshot)"
        ),
        check=lambda s: s.analysis is None or s.snapshots.enabled,
    ),
    Rule(
        cel=(
            "!has(self.analysis) || "
            "self.analysis.endpoint.startsWith('http://') || self.analysis.endpoint.startsWith('https://')"
        ),
        message="spec.analysis.endpoint must be an http:// or https:// URL",
        check=lambda s: s.analysis is None or _is_http(s.analysis.endpoint),
        field_path=".analysis.endpoint",
    ),
    Rule(
        cel="!has(self.analysis) || !self.analysis.endpoint.matches('^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*@')",
        message=(
            "spec.analysis.endpoint must not contain credentials: "
            "put a token in the Secret named by spec.analysis.bearerTokenSecretRef"
        ),
        check=lambda s: s.analysis is None or not _has_userinfo(s.analysis.endpoint),
        field_path=".analysis.endpoint",
    ),
    Rule(
        cel="!has(self.events) || has(self.events.webhook) || has(self.events.nats)",
        message="spec.events needs a sink: spec.events.webhook, spec.events.nats, or both",
        check=lambda s: s.events is None or s.events.webhook is not None or s.events.nats is not None,
    ),
    Rule(
        cel=(
            "!has(self.events) || !has(self.events.webhook) || "
            "self.events.webhook.url.startsWith('http://') || self.events.webhook.url.startsWith('https://')"
        ),
        message="spec.events.webhook.url must be an http:// or https:// URL",
        check=lambda s: s.events is None or s.events.webhook is None or _is_http(s.events.webhook.url),
        field_path=".events.webhook.url",
    ),
    Rule(
        cel=(
            "!has(self.events) || !has(self.events.nats) || "
            "self.events.nats.url.startsWith('nats://') || self.events.nats.url.startsWith('tls://')"
        ),
        message="spec.events.nats.url must be a nats:// or tls:// URL",
        check=lambda s: (
            s.events is None or s.events.nats is None or s.events.nats.url.startswith(("nats://", "tls://"))
        ),
        field_path=".events.nats.url",
    ),
]


class CameraSpec(SpecModel):
    """Desired state of one camera."""

    model_config = ConfigDict(json_schema_extra=rules_schema(CAMERA_RULES))

    source: SourceSpec = Field(description="Where the pictures come from.")
    snapshots: SnapshotsSpec = Field(default=SnapshotsSpec(), description="JPEG snapshots.")
    recording: RecordingSpec = Field(default=RecordingSpec(), description="Video segments.")
    storage: StorageSpec = Field(default=StorageSpec(), description="Object storage for what is captured.")
    offline_queue: OfflineQueueSpec = Field(
        default=OfflineQueueSpec(), description="Durable local queue that rides out storage outages."
    )
    mediamtx: MediaMTXSpec = Field(default=MediaMTXSpec(), description="MediaMTX path for this camera.")
    paused: bool = Field(
        default=False, description="Stop capturing (the worker scales to 0; the queue keeps draining)."
    )
    worker: WorkerSpec = Field(default=WorkerSpec(), description="How the capture worker pod runs.")
    analysis: AnalysisSpec | None = Field(
        default=None, description="Hand sampled snapshots to an inference endpoint and store its answers."
    )
    events: EventsSpec | None = Field(
        default=None, description="Publish CloudEvents about snapshots, segments, analysis results and state."
    )
    pool: str | None = Field(
        default=None,
        max_length=63,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description=(
            "Name of a CameraPool in the Camera's namespace: a pool worker serves the camera instead of a "
            "Deployment of its own (spec.worker and spec.offlineQueue then come from the pool)."
        ),
    )
    health: HealthSpec = Field(
        default=HealthSpec(),
        description="Picture health checks on every snapshot (frozen, black, covered, blurred, moved).",
    )

    @model_validator(mode="after")
    def _rules(self) -> CameraSpec:
        return run_rules(self, CAMERA_RULES)


class CameraPhase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    DEGRADED = "Degraded"
    PAUSED = "Paused"
    FAILED = "Failed"


class PictureMeasures(StatusModel):
    """The newest snapshot's picture measures (luma levels 0-255)."""

    luma: float | None = Field(default=None, description="Mean luma.")
    contrast: float | None = Field(default=None, description="Luma standard deviation.")
    uniform: float | None = Field(default=None, description="Share of the picture within a few levels of one luma.")
    sharpness: float | None = Field(default=None, description="Edge sharpness: about 1 sharp, lower when soft.")
    change: float | None = Field(default=None, description="Mean luma change since the previous snapshot.")
    distance: float | None = Field(
        default=None, description="Share of the view (0-1) that differs from the learned reference."
    )


class PictureStatus(StatusModel):
    """Picture health as the worker judged the newest snapshot (see spec.health)."""

    state: Literal["Healthy", "Frozen", "Black", "Uniform", "Blurred", "SceneChanged"] = Field(
        description="Healthy, Frozen, Black, Uniform (covered, one colour), Blurred or SceneChanged (moved)."
    )
    since: str | None = Field(
        default=None,
        description="When the picture started to show this state (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )
    message: str | None = Field(default=None, description='A human line, e.g. "picture unchanged for 4m10s".')
    measures: PictureMeasures | None = Field(default=None, description="The newest snapshot's measures.")


class StreamStatus(StatusModel):
    """What the camera's video stream is."""

    codec: str | None = Field(default=None, description="h264, hevc, ... (jpeg for HTTP snapshot cameras).")
    width: int | None = Field(default=None, ge=0, description="Picture width in pixels.")
    height: int | None = Field(default=None, ge=0, description="Picture height in pixels.")
    declared_fps: float | None = Field(default=None, ge=0, description="Frame rate the stream declares.")
    measured_fps: float | None = Field(
        default=None, ge=0, description="Frames per second of stream time actually received (last 5 s)."
    )


class OutageStatus(StatusModel):
    """One time the source went away."""

    start: str = Field(description="When it went away (RFC 3339).", json_schema_extra={"format": "date-time"})
    end: str | None = Field(
        default=None,
        description="When it came back (RFC 3339); unset while away.",
        json_schema_extra={"format": "date-time"},
    )
    seconds: float = Field(default=0, ge=0, description="How long it was (or has been) away.")
    reason: str | None = Field(default=None, description="Why, credentials redacted.")


class CaptureStatus(StatusModel):
    """What the capture worker last reported."""

    last_snapshot_time: str | None = Field(
        default=None,
        description="Capture time of the newest stored snapshot (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )
    last_snapshot_key: str | None = Field(default=None, description="Object key of the newest snapshot.")
    snapshots: int = Field(default=0, ge=0, description="Snapshots taken since the worker started.")
    segments: int = Field(default=0, ge=0, description="Segments closed since the worker started.")
    bytes: int = Field(default=0, ge=0, description="Bytes captured since the worker started.")
    queue_depth: int = Field(default=0, ge=0, description="Items waiting in the offline queue.")
    queue_bytes: int = Field(default=0, ge=0, description="Bytes waiting in the offline queue.")
    dropped: int = Field(default=0, ge=0, description="Items dropped by the queue's overflow or age bounds.")
    reconnects: int = Field(
        default=0,
        ge=0,
        description=(
            "Times the source delivered again after a failure, since the worker started (failed attempts "
            "are counted by the camops_capture_source_errors_total metric)."
        ),
    )
    source_connected: bool | None = Field(default=None, description="Whether the source delivers right now.")
    storage_reachable: bool | None = Field(default=None, description="Whether the last upload attempt succeeded.")
    analysis_reachable: bool | None = Field(
        default=None, description="Whether the analysis endpoint answers (unset without spec.analysis)."
    )
    analysis_dropped: int | None = Field(
        default=None, ge=0, description="Frames not analysed (buffer full, endpoint failing) since the worker started."
    )
    events_dropped: int | None = Field(
        default=None, ge=0, description="CloudEvents given up (outbox full, rejected) since the worker started."
    )
    last_error: str | None = Field(default=None, description="The latest error, credentials redacted.")
    picture: PictureStatus | None = Field(
        default=None, description="Picture health of the newest snapshot (unset with spec.health.enabled false)."
    )
    stream: StreamStatus | None = Field(
        default=None, description="Codec, picture size, declared and measured frame rate of the source."
    )
    outages: list[OutageStatus] | None = Field(
        default=None, description="The last 10 times the source went away, oldest first (the open one last)."
    )
    outage_seconds: float | None = Field(
        default=None, ge=0, description="Seconds the source was away since the worker started."
    )
    updated_at: str | None = Field(
        default=None,
        description="When the worker wrote this summary (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )


class CameraStatus(StatusModel):
    """Observed state of the camera."""

    observed_generation: int | None = Field(default=None, description="The .metadata.generation last reconciled.")
    phase: CameraPhase | None = Field(default=None, description="Pending, Running, Degraded, Paused or Failed.")
    conditions: list[Condition] = Field(
        default_factory=list,
        description=(
            "Ready, WorkerAvailable, SourceConnected, StorageReachable, MediaPathConfigured, AnalysisReachable, "
            "PictureHealthy, QueueVolumeSized."
        ),
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    capture: CaptureStatus | None = Field(default=None, description="Summary reported by the capture worker.")
    worker: str | None = Field(
        default=None, description="The pod serving the camera, as its worker reports it (pooled cameras)."
    )


class Camera(BaseModel):
    """A camera camops captures from."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    apiVersion: Literal["camops.io/v1alpha1"] = "camops.io/v1alpha1"  # noqa: N815 - Kubernetes field name
    kind: Literal["Camera"] = "Camera"
    metadata: ObjectMeta
    spec: CameraSpec
    status: CameraStatus | None = None

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace

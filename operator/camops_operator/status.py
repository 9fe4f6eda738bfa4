"""Observed state → Camera status (conditions and phase). Pure: the caller passes ``now``.

Conditions follow metav1.Condition: a condition's ``lastTransitionTime`` only
moves when its status changes, so an unchanged observation yields an unchanged
status and no write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from camops_operator.api.camera import CameraPhase, CameraStatus, CaptureStatus
from camops_operator.api.common import dump, make_condition
from camops_workers.units import parse_quantity

__all__ = [
    "CONDITION_TYPES",
    "DRIFT_FAILED",
    "SECRET_NOT_FOUND",
    "MediaSync",
    "Observed",
    "QueueVolume",
    "compute_status",
    "events_for",
    "media_configured",
    "queue_volume_of",
    "status_changes",
    "transitions",
]

READY = "Ready"
WORKER_AVAILABLE = "WorkerAvailable"
SOURCE_CONNECTED = "SourceConnected"
STORAGE_REACHABLE = "StorageReachable"
MEDIA_PATH_CONFIGURED = "MediaPathConfigured"
#: The reason of the conditions a missing Secret blocks (WorkerAvailable, MediaPathConfigured).
SECRET_NOT_FOUND = "SecretNotFound"  # noqa: S105 - a condition reason, not a secret
INVALID_SPEC = "InvalidSpec"
SYNC_FAILED = "SyncFailed"
#: Reasons that need a person: a Warning Event as soon as a condition takes one (even at the first status).
ACTIONABLE_REASONS = frozenset(
    {INVALID_SPEC, "SecretNotFound", "DriftFailed", SYNC_FAILED, "ShrinkRefused", "ExpansionFailed"}
)
#: MediaPathConfigured's reason while the drift repair pass fails as a whole (e.g. its ledger is unreadable).
DRIFT_FAILED = "DriftFailed"
#: Whether spec.analysis's endpoint answers. Informational: a failing endpoint never blocks capture,
#: so it does not make the camera un-Ready.
ANALYSIS_REACHABLE = "AnalysisReachable"
#: Whether the newest snapshot's picture is healthy (spec.health); the reason is the picture's state.
#: Informational like AnalysisReachable: a frozen or covered picture is still captured.
PICTURE_HEALTHY = "PictureHealthy"
#: Whether the queue's claim holds spec.offlineQueue.size. Informational (a claim that could not
#: grow or shrink still holds a working queue), so it does not make the camera un-Ready.
QUEUE_VOLUME_SIZED = "QueueVolumeSized"
CONDITION_TYPES = (
    READY,
    WORKER_AVAILABLE,
    SOURCE_CONNECTED,
    STORAGE_REACHABLE,
    MEDIA_PATH_CONFIGURED,
    ANALYSIS_REACHABLE,
    PICTURE_HEALTHY,
    QUEUE_VOLUME_SIZED,
)

Status = Literal["True", "False", "Unknown"]


@dataclass(frozen=True)
class MediaSync:
    """What the last MediaMTX sync of this camera's path found."""

    wanted: bool
    ok: bool | None = None
    message: str = ""
    #: The condition's reason when not ok (default ``SyncFailed``): ``DriftFailed``, ``SecretNotFound``, ...
    reason: str | None = None


@dataclass(frozen=True)
class QueueVolume:
    """The queue's volume as asked for and as found: ``claim`` None when the queue is an emptyDir."""

    wanted: str
    claim: str | None = None
    #: The live claim's storage request and the volume's capacity (None: no claim yet / not reported).
    requested: str | None = None
    capacity: str | None = None
    #: Why the API server refused to raise the request.
    error: str | None = None


def queue_volume_of(
    wanted: str, claim: str | None, live: Mapping[str, Any] | None, error: str | None = None
) -> QueueVolume:
    """What the live claim says about the queue's size (pure)."""
    if claim is None:
        return QueueVolume(wanted)
    spec = (live or {}).get("spec") or {}
    status = (live or {}).get("status") or {}
    requested = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    capacity = (status.get("capacity") or {}).get("storage")
    return QueueVolume(
        wanted,
        claim,
        str(requested) if requested is not None else None,
        str(capacity) if capacity is not None else None,
        error,
    )


def media_configured(path: str) -> MediaSync:
    """The sync result for a path that is as desired (one message whatever was done: no status churn)."""
    return MediaSync(True, True, f"path {path} is configured")


@dataclass(frozen=True)
class Observed:
    """Everything the status is computed from."""

    generation: int | None
    paused: bool
    deployment: Mapping[str, Any] | None
    capture: CaptureStatus | None
    media: MediaSync
    invalid: str | None = None
    #: Secrets the Camera names that are missing (one message each, naming the Secret and the field).
    secrets_missing: tuple[str, ...] = ()
    #: The queue's volume; None: not looked at this time (the previous condition stays).
    queue: QueueVolume | None = None
    #: Whether spec.analysis is set; None: judge from the worker's report (it reports analysisReachable only then).
    analysis: bool | None = None
    #: Why there is no worker yet when ``deployment`` is None (a pooled camera: its pool is missing, or
    #: has not assigned it yet); None: its own Deployment does not exist yet.
    worker_pending: str | None = None


@dataclass(frozen=True)
class _Cond:
    status: Status
    reason: str
    message: str = ""


def _worker(obs: Observed) -> _Cond:
    if obs.paused:
        return _Cond("False", "Paused", "spec.paused is true: the worker is scaled to 0")
    if obs.secrets_missing:
        return _Cond("False", SECRET_NOT_FOUND, "; ".join(obs.secrets_missing) + ": the worker cannot start without it")
    if obs.deployment is None:
        return _Cond("False", "Pending", obs.worker_pending or "the worker Deployment does not exist yet")
    status = obs.deployment.get("status") or {}
    if int(status.get("availableReplicas") or 0) >= 1:
        return _Cond("True", "Available", "the worker is running")
    return _Cond("False", "Unavailable", "the worker has no available replica yet")


def _worker_up(obs: Observed) -> bool:
    status = (obs.deployment or {}).get("status") or {}
    return not obs.paused and int(status.get("availableReplicas") or 0) >= 1


def _source(obs: Observed) -> _Cond:
    capture = obs.capture
    if obs.paused or capture is None or capture.source_connected is None:
        return _Cond("Unknown", "NoReport", "the worker has not reported on its source")
    if not _worker_up(obs):  # the last report came from a worker that is gone
        return _Cond("Unknown", "WorkerUnavailable", "no worker runs: its last report is out of date")
    if capture.source_connected:
        return _Cond("True", "Connected", "the source delivers")
    return _Cond("False", "Disconnected", capture.last_error or "the source does not deliver")


def _storage(obs: Observed) -> _Cond:
    capture = obs.capture
    if obs.paused or capture is None or capture.storage_reachable is None:
        return _Cond("Unknown", "NoReport", "the worker has not reported on its storage")
    if not _worker_up(obs):
        return _Cond("Unknown", "WorkerUnavailable", "no worker runs: its last report is out of date")
    if capture.storage_reachable:
        return _Cond("True", "Reachable", "uploads succeed")
    return _Cond("False", "Unreachable", capture.last_error or "uploads fail; captures wait in the queue")


def _media(obs: Observed) -> _Cond:
    if not obs.media.wanted:
        return _Cond("True", "NotRequested", "spec.mediamtx.enabled is false")
    if obs.media.ok is None:
        return _Cond("Unknown", "Pending", obs.media.message or "not synced yet")
    if obs.media.ok:
        return _Cond("True", "Configured", obs.media.message or "the MediaMTX path is configured")
    return _Cond("False", obs.media.reason or SYNC_FAILED, obs.media.message or "MediaMTX could not be configured")


def _analysis(obs: Observed) -> _Cond:
    capture = obs.capture
    reported = capture.analysis_reachable if capture is not None else None
    wanted = obs.analysis if obs.analysis is not None else reported is not None
    if not wanted:
        return _Cond("True", "NotRequested", "spec.analysis is not set")
    if obs.paused or capture is None or reported is None:
        return _Cond("Unknown", "NoReport", "the worker has not reported on its analysis endpoint")
    if reported:
        return _Cond("True", "Reachable", "the analysis endpoint answers")
    dropped = f" ({capture.analysis_dropped} frames dropped so far)" if capture.analysis_dropped else ""
    return _Cond("False", "Unreachable", f"the analysis endpoint does not answer; capture goes on{dropped}")


def _picture(obs: Observed) -> _Cond:
    picture = obs.capture.picture if obs.capture is not None else None
    if obs.paused or picture is None:
        return _Cond("Unknown", "NoReport", "the worker has not judged a picture (or spec.health.enabled is false)")
    if not _worker_up(obs):
        return _Cond("Unknown", "WorkerUnavailable", "no worker runs: its last report is out of date")
    message = picture.message or picture.state
    return _Cond("True" if picture.state == "Healthy" else "False", picture.state, message)


def _bytes(quantity: str | None) -> int | None:
    try:
        return parse_quantity(quantity) if quantity is not None else None
    except ValueError:
        return None


def _queue_volume(q: QueueVolume) -> _Cond:
    if q.claim is None:
        return _Cond("True", "EmptyDir", f"the queue lives in an emptyDir of {q.wanted} (lost with the pod)")
    wanted, requested, capacity = _bytes(q.wanted), _bytes(q.requested), _bytes(q.capacity)
    if requested is None:
        return _Cond("Unknown", "Pending", f"the claim {q.claim} does not exist yet")
    if wanted is not None and wanted < requested:
        return _Cond(
            "False",
            "ShrinkRefused",
            f"spec.offlineQueue.size {q.wanted} is smaller than the claim {q.claim} ({q.requested}): a "
            f"PersistentVolumeClaim cannot shrink, so the queue keeps {q.requested}. To start smaller, pause the "
            f"Camera, let its drain job empty the queue, and delete the claim: it is created again at {q.wanted}",
        )
    if q.error is not None and wanted is not None and wanted > requested:
        return _Cond(
            "False",
            "ExpansionFailed",
            f"spec.offlineQueue.size {q.wanted}: the claim {q.claim} could not grow from {q.requested} "
            f"(its StorageClass must allow volume expansion): {q.error}",
        )
    if (wanted is not None and wanted > requested) or (capacity is not None and capacity < requested):
        target = q.wanted if wanted is not None and wanted > requested else q.requested
        return _Cond(
            "Unknown",
            "Expanding",
            f"the claim {q.claim} grows to {target}; its volume holds {q.capacity or q.requested} until resized",
        )
    return _Cond("True", "Sized", f"the claim {q.claim} holds {q.requested}")


def _ready(obs: Observed, parts: dict[str, _Cond]) -> _Cond:
    if obs.invalid is not None:
        return _Cond("False", INVALID_SPEC, obs.invalid)
    if obs.paused:
        return _Cond("False", "Paused", "spec.paused is true")
    for kind in (WORKER_AVAILABLE, MEDIA_PATH_CONFIGURED, SOURCE_CONNECTED, STORAGE_REACHABLE):
        cond = parts[kind]
        if cond.status == "False":
            return _Cond("False", cond.reason, f"{kind}: {cond.message}")
    return _Cond("True", "Ready", "the camera is captured")


def _phase(obs: Observed, parts: dict[str, _Cond]) -> CameraPhase:
    if obs.invalid is not None:
        return CameraPhase.FAILED
    if obs.paused:
        return CameraPhase.PAUSED
    if parts[READY].status == "True":
        return CameraPhase.RUNNING
    if parts[WORKER_AVAILABLE].status == "True":
        return CameraPhase.DEGRADED
    return CameraPhase.PENDING


def compute_status(obs: Observed, previous: CameraStatus | None, now: datetime) -> CameraStatus:
    """The status to write; conditions keep their transition time while their status holds."""
    if obs.invalid is not None:
        parts = {READY: _ready(obs, {})}
    else:
        parts = {
            WORKER_AVAILABLE: _worker(obs),
            SOURCE_CONNECTED: _source(obs),
            STORAGE_REACHABLE: _storage(obs),
            MEDIA_PATH_CONFIGURED: _media(obs),
            ANALYSIS_REACHABLE: _analysis(obs),
            PICTURE_HEALTHY: _picture(obs),
        }
        if obs.queue is not None:
            parts[QUEUE_VOLUME_SIZED] = _queue_volume(obs.queue)
        parts[READY] = _ready(obs, parts)
    old = {c.type: c for c in (previous.conditions if previous else [])}
    conditions = []
    for kind in CONDITION_TYPES:
        if kind not in parts:
            if kind in old:
                conditions.append(old[kind])
            continue
        cond = parts[kind]
        conditions.append(
            make_condition(
                kind,
                cond.status,
                cond.reason,
                cond.message,
                now=now,
                before=old.get(kind),
                generation=obs.generation,
            )
        )
    return CameraStatus(
        observed_generation=obs.generation,
        phase=_phase(obs, parts),
        conditions=conditions,
        capture=previous.capture if previous else None,
        worker=previous.worker if previous else None,
    )


def status_changes(previous: CameraStatus | None, new: CameraStatus) -> dict[str, Any] | None:
    """The status fields to patch (our fields only; ``capture`` and ``worker`` belong to the worker), or None."""
    ours = dump(new)
    before = dump(previous) if previous else {}
    for worker_field in ("capture", "worker"):
        ours.pop(worker_field, None)
        before.pop(worker_field, None)
    return ours if ours != before else None


def transitions(previous: CameraStatus | None, new: CameraStatus) -> list[tuple[str, str, str, str]]:
    """(type, status, reason, message) of every condition whose status changed, for Events; for
    PictureHealthy also a change of reason (Black to Uniform is a new state of the picture)."""
    old = {c.type: c for c in (previous.conditions if previous else [])}

    def changed(c: Any) -> bool:
        before = old.get(c.type)
        if before is None or before.status != c.status:
            return True
        return bool(c.type == PICTURE_HEALTHY and before.reason != c.reason)

    return [(c.type, c.status, c.reason, c.message) for c in new.conditions if changed(c)]


def events_for(previous: CameraStatus | None, new: CameraStatus) -> list[tuple[str, str, str, str]]:
    """(condition type, Event type, reason, message) of the Events a status change deserves (pure).

    * A condition turning False with a reason a person must act on (an invalid spec, a
      missing Secret, MediaMTX refusing or its drift repair failing): ``Warning``, also at
      the first status and when only the reason changes.
    * Later, every status change: ``Warning`` when a condition turns False (or Ready Unknown),
      else ``Normal``.
    * The first status with nothing to act on: one ``Normal Reconciled`` with the phase.

    Ready repeating another condition's actionable reason is not posted twice.
    """
    old = {c.type: c for c in (previous.conditions if previous else [])}
    first = not old
    out: list[tuple[str, str, str, str]] = []
    for cond in sorted(new.conditions, key=lambda c: c.type == READY):  # Ready last: it may repeat another
        before = old.get(cond.type)
        changed = before is None or before.status != cond.status
        actionable = (
            cond.status == "False"
            and cond.reason in ACTIONABLE_REASONS
            and (before is None or before.status != cond.status or before.reason != cond.reason)
        )
        if not actionable and (first or not changed):
            continue
        if cond.type == READY and any(reason == cond.reason for _, _, reason, _ in out):
            continue
        warn = cond.status == "False" or (cond.type == READY and cond.status == "Unknown")
        message = f"{cond.type}={cond.status}: {cond.message}"
        out.append((cond.type, "Warning" if warn else "Normal", cond.reason, message))
    if first and not out:
        out.append(("", "Normal", "Reconciled", f"phase {new.phase.value if new.phase else 'unknown'}"))
    return out

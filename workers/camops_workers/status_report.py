"""Reports a worker's summary to its Camera's ``status.capture`` (in a cluster), rate-limited.

``capture_status`` builds the patch body (pure); ``StatusReporter`` decides when to send it:
never more often than ``min_interval_s``, only when something other than the timestamp
changed, at once when the source connects or disconnects or the picture's state changes.
Failures are logged once per distinct error and never stop capture.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from camops_workers.redact import redact

if TYPE_CHECKING:
    from camops_workers.outages import Outage
    from camops_workers.picture import Verdict
    from camops_workers.runtime import WorkerStatus

__all__ = ["StatusReporter", "capture_status", "outage_status", "picture_status"]

log = logging.getLogger("camops.status")


def _rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def capture_status(status: WorkerStatus, now: datetime, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``status.capture`` object (camelCase, as the Camera CRD spells it)."""
    cap = status.capture
    error = cap.last_error or status.storage_error
    body: dict[str, Any] = {
        "lastSnapshotTime": _rfc3339(cap.last_snapshot_at),
        "lastSnapshotKey": cap.last_snapshot_key,
        "snapshots": cap.snapshots,
        "segments": cap.segments,
        "bytes": cap.bytes,
        "queueDepth": status.queue.depth,
        "queueBytes": status.queue.bytes,
        "dropped": status.queue.dropped + status.queue.expired,
        "reconnects": cap.reconnects,
        "sourceConnected": cap.source_state == "connected",
        "storageReachable": status.breaker_state != "open",
        "lastError": redact(error)[:512] if error else None,
        "updatedAt": _rfc3339(now),
    }
    if cap.picture is not None:
        body["picture"] = picture_status(cap.picture)
    if cap.stream is not None:
        info = cap.stream
        body["stream"] = {
            "codec": info.codec,
            "width": info.width,
            "height": info.height,
            "declaredFps": info.declared_fps,
            "measuredFps": info.measured_fps,
        }
    if cap.outages:
        body["outages"] = [outage_status(o, now) for o in cap.outages]
        open_s = sum(o.seconds(now) for o in cap.outages if o.end is None)
        body["outageSeconds"] = round(cap.outage_seconds + open_s, 1)
    if extra:
        body.update(extra)
    return body


def outage_status(outage: Outage, now: datetime) -> dict[str, Any]:
    """One entry of ``status.capture.outages``: start, end (unset while away), seconds, reason."""
    return {
        "start": _rfc3339(outage.start),
        "end": _rfc3339(outage.end),
        "seconds": round(outage.seconds(now), 1),
        "reason": redact(outage.reason)[:256],
    }


def picture_status(verdict: Verdict) -> dict[str, Any]:
    """``status.capture.picture``: the state, since when, a human line and the newest measures."""
    return {
        "state": verdict.state.value,
        "since": _rfc3339(verdict.since),
        "message": verdict.message,
        "measures": verdict.measures.as_dict(),
    }


class StatusReporter:
    def __init__(
        self,
        namespace: str,
        name: str,
        *,
        min_interval_s: float = 10.0,
        patch: Callable[[str, str, dict[str, Any]], None] | None = None,
    ) -> None:
        if patch is None:
            from camops_workers.kube import patch_camera_capture_status

            patch = patch_camera_capture_status
        self._patch = patch
        self._namespace = namespace
        self._name = name
        self._min_interval = min_interval_s
        self._last_sent_at: float | None = None
        self._last_body: dict[str, Any] | None = None
        self._last_error: str | None = None
        self.sent = 0
        self.failed = 0

    def due(self, body: dict[str, Any], monotonic_now: float) -> bool:
        """Whether ``body`` should be sent now: something besides ``updatedAt`` changed and the
        interval passed — or the source connected/disconnected and the API answered last time."""
        previous = self._last_body
        if previous is not None and _without_time(previous) == _without_time(body):
            return False
        if self._last_sent_at is None or monotonic_now - self._last_sent_at >= self._min_interval:
            return True
        flipped = previous is not None and (
            previous.get("sourceConnected") != body.get("sourceConnected")
            or _picture_state(previous) != _picture_state(body)
        )
        return flipped and self._last_error is None

    def maybe_report(self, body: dict[str, Any], monotonic_now: float) -> bool:
        """Send ``body`` if due; returns whether it was sent."""
        if not self.due(body, monotonic_now):
            return False
        try:
            self._patch(self._namespace, self._name, body)
        except Exception as exc:  # noqa: BLE001 - the API being down must not stop capture
            self.failed += 1
            self._last_sent_at = monotonic_now  # retry after the interval, not in a tight loop
            error = redact(f"{type(exc).__name__}: {exc}")[:300]
            if error != self._last_error:
                log.warning("status report failed camera=%s/%s error=%s", self._namespace, self._name, error)
                self._last_error = error
            return False
        self.sent += 1
        self._last_sent_at = monotonic_now
        self._last_body = body
        self._last_error = None
        return True


def _picture_state(body: dict[str, Any]) -> object:
    picture = body.get("picture")
    return picture.get("state") if isinstance(picture, dict) else None


def _without_time(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "updatedAt"}

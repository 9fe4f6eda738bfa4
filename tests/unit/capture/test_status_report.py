"""status.capture: the body the worker reports, how often it reports, and the probes' verdicts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from camops_workers.capture.worker import WorkerState
from camops_workers.kube import REQUIRED_PERMISSIONS
from camops_workers.queue.durable import QueueStats
from camops_workers.runtime import WorkerStatus, liveness, readiness
from camops_workers.status_report import StatusReporter, capture_status

NOW = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)


def status(snapshots: int = 3, state: str = "connected", error: str | None = None) -> WorkerStatus:
    capture = WorkerState(state, snapshots, 1, 12345, 2, 0, 1, NOW, "cam/2026-03/04/050607.890.jpg", error)
    queue = QueueStats(depth=4, bytes=999, oldest_age_s=1.0, failed=0, dropped=1, expired=2, uploaded=10)
    return WorkerStatus("cam", capture, queue, "closed", None)


def test_body_uses_the_crd_field_names_and_redacts_errors() -> None:
    body = capture_status(status(error="cannot open rtsp://admin:hunter2@10.0.0.5/live"), NOW)
    assert body["lastSnapshotTime"] == "2026-03-04T05:06:07.890Z"
    assert body["lastSnapshotKey"] == "cam/2026-03/04/050607.890.jpg"
    assert (body["snapshots"], body["segments"], body["bytes"], body["reconnects"]) == (3, 1, 12345, 2)
    assert (body["queueDepth"], body["queueBytes"], body["dropped"]) == (4, 999, 3)
    assert body["sourceConnected"] is True
    assert body["storageReachable"] is True
    assert "hunter2" not in body["lastError"]
    assert "admin" not in body["lastError"]


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.fail = fail

    def __call__(self, namespace: str, name: str, body: dict[str, Any]) -> None:
        self.calls.append((namespace, name, body))
        if self.fail:
            raise ConnectionError("api down")


def test_reports_are_rate_limited_and_skip_unchanged_bodies() -> None:
    patch = Recorder()
    reporter = StatusReporter("ns", "cam", min_interval_s=10.0, patch=patch)
    assert reporter.maybe_report(capture_status(status(1), NOW), 0.0)
    assert not reporter.maybe_report(capture_status(status(2), NOW), 5.0)  # changed, but too soon
    assert reporter.maybe_report(capture_status(status(2), NOW), 10.0)
    assert not reporter.maybe_report(capture_status(status(2), NOW), 30.0)  # nothing new
    assert reporter.maybe_report(capture_status(status(2, state="backoff"), NOW), 31.0)  # disconnect: at once
    assert [c[:2] for c in patch.calls] == [("ns", "cam")] * 3


def test_failing_api_is_retried_after_the_interval_not_in_a_loop() -> None:
    patch = Recorder(fail=True)
    reporter = StatusReporter("ns", "cam", min_interval_s=10.0, patch=patch)
    for t in range(10):
        reporter.maybe_report(capture_status(status(t), NOW), float(t))
    assert len(patch.calls) == 1
    assert reporter.failed == 1


def test_status_patch_permission_is_declared() -> None:
    assert ("camops.io", "cameras/status", "patch") in REQUIRED_PERMISSIONS


def test_readiness_follows_recent_source_data() -> None:
    state = status().capture
    assert readiness(state, None, stall_timeout_s=15, interval_s=1)[0] is False
    assert readiness(state, 3.0, stall_timeout_s=15, interval_s=1)[0] is True
    assert readiness(state, 16.0, stall_timeout_s=15, interval_s=1)[0] is False
    assert readiness(state, 16.0, stall_timeout_s=15, interval_s=10)[0] is True  # slow HTTP poll


def test_liveness_fails_when_the_thread_ended_or_is_stuck() -> None:
    state = status().capture
    assert liveness(True, state, 1.0, stall_timeout_s=15)[0] is True
    assert liveness(False, state, 1.0, stall_timeout_s=15)[0] is False
    assert liveness(True, state, 100.0, stall_timeout_s=15)[0] is False
    assert liveness(True, status(state="backoff").capture, 100.0, stall_timeout_s=15)[0] is True

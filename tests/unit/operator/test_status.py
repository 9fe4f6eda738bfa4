"""Observed state → conditions and phase."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from camops_operator.api.camera import CameraPhase, CaptureStatus
from camops_operator.status import MediaSync, Observed, compute_status, events_for, status_changes, transitions

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AVAILABLE: dict[str, Any] = {"status": {"availableReplicas": 1}}


def obs(**kw: Any) -> Observed:
    base: dict[str, Any] = {
        "generation": 3,
        "paused": False,
        "deployment": AVAILABLE,
        "capture": CaptureStatus(source_connected=True, storage_reachable=True),
        "media": MediaSync(wanted=False),
    }
    return Observed(**{**base, **kw})


def conds(status: Any) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in status.conditions}


def test_all_good_is_running_and_ready() -> None:
    s = compute_status(obs(), None, T0)
    assert s.phase == CameraPhase.RUNNING
    assert s.observed_generation == 3
    assert conds(s)["Ready"] == ("True", "Ready")
    assert conds(s)["MediaPathConfigured"] == ("True", "NotRequested")


def test_no_deployment_yet_is_pending() -> None:
    s = compute_status(obs(deployment=None, capture=None), None, T0)
    assert s.phase == CameraPhase.PENDING
    assert conds(s)["WorkerAvailable"] == ("False", "Pending")
    assert conds(s)["SourceConnected"] == ("Unknown", "NoReport")


def test_source_down_is_degraded_with_the_reason() -> None:
    s = compute_status(obs(capture=CaptureStatus(source_connected=False, last_error="timeout")), None, T0)
    assert s.phase == CameraPhase.DEGRADED
    assert conds(s)["Ready"] == ("False", "Disconnected")
    assert "timeout" in next(c.message for c in s.conditions if c.type == "SourceConnected")


def test_mediamtx_failure_makes_the_camera_not_ready() -> None:
    s = compute_status(obs(media=MediaSync(True, False, "connection refused")), None, T0)
    assert conds(s)["MediaPathConfigured"] == ("False", "SyncFailed")
    assert conds(s)["Ready"] == ("False", "SyncFailed")


def test_paused_and_invalid() -> None:
    assert compute_status(obs(paused=True), None, T0).phase == CameraPhase.PAUSED
    bad = compute_status(obs(invalid="spec.source.url: bad"), None, T0)
    assert bad.phase == CameraPhase.FAILED
    assert conds(bad)["Ready"] == ("False", "InvalidSpec")
    assert bad.conditions[0].message == "spec.source.url: bad"


def test_unchanged_observation_is_no_write_and_keeps_transition_times() -> None:
    first = compute_status(obs(), None, T0)
    again = compute_status(obs(), first, T0 + timedelta(minutes=5))
    assert status_changes(first, again) is None
    assert transitions(first, again) == []
    flipped = compute_status(
        obs(capture=CaptureStatus(source_connected=False, storage_reachable=True)), first, T0 + timedelta(minutes=5)
    )
    changes = status_changes(first, flipped)
    assert changes is not None
    assert "capture" not in changes
    times = {c.type: c.last_transition_time for c in flipped.conditions}
    assert times["WorkerAvailable"] == "2026-01-01T00:00:00Z"
    assert times["SourceConnected"] == "2026-01-01T00:05:00Z"
    assert {t[0] for t in transitions(first, flipped)} == {"SourceConnected", "Ready"}


def test_a_report_from_a_worker_that_is_gone_is_not_trusted() -> None:
    s = compute_status(obs(deployment={"status": {"availableReplicas": 0}}), None, T0)
    assert conds(s)["SourceConnected"] == ("Unknown", "WorkerUnavailable")
    assert conds(s)["StorageReachable"] == ("Unknown", "WorkerUnavailable")
    assert conds(s)["Ready"] == ("False", "Unavailable")
    assert s.phase == CameraPhase.PENDING


def test_events_warn_about_what_a_person_must_fix_from_the_first_status() -> None:
    invalid = compute_status(obs(invalid="spec.snapshots: nothing to capture"), None, T0)
    assert events_for(None, invalid) == [
        ("Ready", "Warning", "InvalidSpec", "Ready=False: spec.snapshots: nothing to capture")
    ]
    missing = ("Secret site-a/gate-login (spec.source.credentialsSecretRef) does not exist",)
    first = compute_status(
        obs(secrets_missing=missing, media=MediaSync(True, False, f"not configured: {missing[0]}", "SecretNotFound")),
        None,
        T0,
    )
    posted = events_for(None, first)
    assert {(t, r) for _, t, r, _ in posted} == {("Warning", "SecretNotFound")}
    assert len(posted) == 2  # WorkerAvailable and MediaPathConfigured; Ready does not repeat it
    assert all("site-a/gate-login" in m for _, _, _, m in posted)
    assert events_for(first, compute_status(obs(secrets_missing=missing, media=first_media(first)), first, T0)) == []


def first_media(status: Any) -> MediaSync:
    cond = next(c for c in status.conditions if c.type == "MediaPathConfigured")
    return MediaSync(True, False, cond.message, cond.reason)


def test_a_good_first_status_is_one_normal_event_and_a_reason_change_to_act_on_warns() -> None:
    pending = compute_status(obs(deployment=None, capture=None), None, T0)
    assert events_for(None, pending) == [("", "Normal", "Reconciled", "phase Pending")]
    missing = compute_status(
        obs(deployment=None, capture=None, secrets_missing=("Secret s/x (f) does not exist",)), pending, T0
    )
    assert [(t, r) for _, t, r, _ in events_for(pending, missing)] == [("Warning", "SecretNotFound")]  # False -> False

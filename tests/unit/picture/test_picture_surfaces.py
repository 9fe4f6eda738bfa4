"""Where picture health shows: the worker's status.capture.picture, the PictureHealthy condition
(and its Events), the io.camops.camera.picture CloudEvent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from camops_operator.api.camera import CameraPhase, CaptureStatus
from camops_operator.local.runner import view_from_status
from camops_operator.local.status import CameraView, render_line, render_summary
from camops_operator.status import MediaSync, Observed, compute_status, transitions
from camops_workers.capture.worker import WorkerState
from camops_workers.events.build import picture_event, to_cloudevent
from camops_workers.picture import PictureJudge, Verdict, thumbnail_from_luma
from camops_workers.queue.durable import QueueStats
from camops_workers.runtime import WorkerStatus
from camops_workers.status_report import picture_status
from tests.servers.pictures import Scene

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _black_verdicts() -> list[Verdict]:
    judge, scene, out = PictureJudge(), Scene(), []
    for i in range(12):
        fault = "black" if i >= 6 else "normal"
        out.append(judge.observe(thumbnail_from_luma(scene.luma(i * 10.0, fault)), T0 + timedelta(seconds=i * 10)))
    return out


def _observed(picture: dict[str, Any] | None) -> Observed:
    capture = CaptureStatus.model_validate(
        {"sourceConnected": True, "storageReachable": True, **({"picture": picture} if picture else {})}
    )
    return Observed(
        generation=1,
        paused=False,
        deployment={"status": {"availableReplicas": 1}},
        capture=capture,
        media=MediaSync(wanted=False),
    )


def test_status_capture_picture_reads_back_into_the_camera_model() -> None:
    verdict = _black_verdicts()[-1]
    body = picture_status(verdict)
    assert body["state"] == "Black"
    assert body["since"] == "2026-03-01T12:01:00.000Z"
    assert body["message"] == "picture black for 50s (mean luma 2)"
    capture = CaptureStatus.model_validate({"picture": body})
    assert capture.picture is not None
    assert capture.picture.measures is not None
    assert capture.picture.measures.luma is not None
    assert capture.picture.measures.luma < 5


def test_picture_healthy_condition_carries_the_state_and_message_and_changes_make_events() -> None:
    healthy = compute_status(_observed(picture_status(_black_verdicts()[5])), None, T0)
    black = compute_status(_observed(picture_status(_black_verdicts()[-1])), healthy, T0 + timedelta(minutes=2))
    conds = {c.type: c for c in black.conditions}
    assert {c.type: c.status for c in healthy.conditions}["PictureHealthy"] == "True"
    assert (conds["PictureHealthy"].status, conds["PictureHealthy"].reason) == ("False", "Black")
    assert conds["PictureHealthy"].message == "picture black for 50s (mean luma 2)"
    assert black.phase == CameraPhase.RUNNING  # informational: a black picture is still captured
    assert [t[:3] for t in transitions(healthy, black)] == [("PictureHealthy", "False", "Black")]
    uniform = {"state": "Uniform", "message": "picture one colour for 30s"}
    later = compute_status(_observed(uniform), black, T0 + timedelta(minutes=3))
    assert [t[:3] for t in transitions(black, later)] == [("PictureHealthy", "False", "Uniform")]
    unknown = compute_status(_observed(None), None, T0)
    assert {c.type: c.reason for c in unknown.conditions}["PictureHealthy"] == "NoReport"


def test_picture_cloudevent_only_on_a_change_of_state() -> None:
    verdicts = _black_verdicts()
    events = [e for v in verdicts if (e := picture_event("door", "site-a", v)) is not None]
    assert len(events) == 1
    event = to_cloudevent(events[0], "/camops/site-a/door")
    assert event.get_type() == "io.camops.camera.picture"
    assert event.get_subject() == "Black"
    data = events[0].data
    assert (data["state"], data["previous"], data["since"]) == ("Black", "Healthy", "2026-03-01T12:01:00.000Z")


def test_camops_local_line_and_summary_show_the_picture() -> None:
    verdicts = _black_verdicts()
    capture = WorkerState("connected", 12, 0, 1000, 0, 0, 0, T0, "door/x.jpg", None)
    queue = QueueStats(depth=0, bytes=0, oldest_age_s=None, failed=0, dropped=0, expired=0, uploaded=12)
    view = CameraView(name="door")
    for verdict in [*verdicts, *_black_verdicts()[:2]]:  # black, then healthy again
        view = view_from_status(WorkerStatus("door", replace(capture, picture=verdict), queue, "closed", None), view)
        if verdict is verdicts[-1]:
            line = render_line(view, T0 + timedelta(minutes=2))
            assert "picture black for 50s (mean luma 2)" in line
    assert view.picture == "Healthy"
    assert view.picture_alarms == 1
    assert "picture" not in render_line(view, T0).split("last")[-1]  # healthy: nothing to say
    summary = render_summary([view], elapsed_s=120, location="/tmp/x")
    assert "picture" in summary[1]
    assert "Healthy, 1 fault" in summary[2]


def test_a_change_of_the_picture_state_is_reported_at_once() -> None:
    from camops_workers.status_report import StatusReporter

    sent: list[dict[str, Any]] = []
    reporter = StatusReporter("site-a", "door", min_interval_s=10.0, patch=lambda _ns, _n, body: sent.append(body))
    healthy = {"sourceConnected": True, "snapshots": 1, "picture": {"state": "Healthy"}}
    assert reporter.maybe_report(healthy, 100.0)
    assert not reporter.maybe_report({**healthy, "snapshots": 2}, 101.0)  # rate-limited
    assert reporter.maybe_report({**healthy, "snapshots": 3, "picture": {"state": "Black"}}, 102.0)
    assert [b["picture"]["state"] for b in sent] == ["Healthy", "Black"]

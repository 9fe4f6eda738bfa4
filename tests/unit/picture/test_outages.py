"""The outage timeline: every away/back recorded, announcements debounced, totals and the last N kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from camops_workers.events.build import outage_event
from camops_workers.outages import OutageTimeline
from camops_workers.status_report import outage_status

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_blip_shorter_than_the_debounce_is_recorded_but_never_announced() -> None:
    timeline = OutageTimeline(debounce_s=10.0)
    timeline.away(at(0), "connection refused")
    assert timeline.due(at(1)) is None
    closed, announcement = timeline.back(at(2))
    assert announcement is None
    assert closed is not None
    assert (closed.start, closed.end, closed.reason) == (at(0), at(2), "connection refused")
    assert timeline.total_s == 2.0


def test_a_long_outage_is_announced_once_when_it_lasts_the_debounce_and_again_when_it_ends() -> None:
    timeline = OutageTimeline(debounce_s=10.0)
    timeline.away(at(0), "timed out")
    timeline.away(at(5), "refused")  # still the same outage: first start and reason kept
    assert timeline.due(at(9.9)) is None
    down = timeline.due(at(10))
    assert down is not None
    assert down.state == "disconnected"
    assert timeline.due(at(20)) is None  # once per outage
    closed, up = timeline.back(at(64))
    assert up is not None
    assert closed is not None
    assert (up.state, closed.seconds(at(100)), closed.reason) == ("reconnected", 64.0, "timed out")
    event = outage_event("door", "site-a", up)
    assert event.type == "io.camops.camera.outage"
    assert event.data["seconds"] == 64.0
    assert event.data["end"] == "2026-03-01T12:01:04.000Z"


def test_the_last_n_are_kept_oldest_first_with_the_open_one_last_and_totals_count_all() -> None:
    timeline = OutageTimeline(keep=3, debounce_s=10.0)
    for i in range(5):
        timeline.away(at(i * 100), f"failure {i}")
        timeline.back(at(i * 100 + 4))
    timeline.away(at(600), "open")
    recent = timeline.recent()
    assert [o.reason for o in recent] == ["failure 3", "failure 4", "open"]
    assert timeline.count == 6
    assert timeline.total_s == 20.0
    assert timeline.total_seconds(at(610)) == 30.0
    status = outage_status(recent[-1], at(610))
    assert status == {"start": "2026-03-01T12:10:00.000Z", "end": None, "seconds": 10.0, "reason": "open"}


def test_frame_rate_meter_measures_the_stream_not_the_declaration() -> None:
    from camops_workers.capture.stream_info import FrameRateMeter

    meter = FrameRateMeter(window_s=5.0)
    rates = [r for i in range(200) if (r := meter.add(i / 12.0)) is not None]  # 12 fps, whatever is declared
    assert rates
    assert all(abs(r - 12.0) < 0.3 for r in rates)
    assert meter.add(0.0) is None  # the stream restarted: a new window

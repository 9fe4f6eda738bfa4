"""The capture loop's decisions: due times, gating mode, session kind, stream clock, log cadence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from camops_workers.capture.sampler import (
    DEFAULT_SESSION_CROSSOVER_S,
    GateMode,
    SessionKind,
    StreamClock,
    advance_due,
    advance_due_s,
    choose_session,
    gate_mode,
    is_due,
    session_first_due_s,
    should_log_failure,
    stay_synced,
    stream_due_s,
    update_gop,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def sec(s: float) -> timedelta:
    return timedelta(seconds=s)


def test_due_times_stay_on_the_grid_despite_keyframe_wait() -> None:
    # a snapshot due at T0 taken 0.3 s late (waiting for a keyframe): the next is still due at T0+1
    assert advance_due(T0, 1.0, T0 + sec(0.3)) == T0 + sec(1)


def test_missed_due_times_are_skipped_not_caught_up() -> None:
    assert advance_due(T0, 1.0, T0 + sec(3.5)) == T0 + sec(4)
    assert advance_due(T0, 1.0, T0 + sec(1.0)) == T0 + sec(2)


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        advance_due(T0, 0, T0)


@pytest.mark.parametrize(
    ("gop", "interval", "mode"),
    [
        (None, 1.0, GateMode.KEYFRAME),
        (2.0, 10.0, GateMode.KEYFRAME),
        (2.0, 2.0, GateMode.KEYFRAME),
        (4.0, 1.0, GateMode.BUFFER),
    ],
)
def test_gate_mode(gop: float | None, interval: float, mode: GateMode) -> None:
    assert gate_mode(gop, interval) is mode


def test_gop_is_the_last_keyframe_spacing() -> None:
    assert update_gop(None, None, 5.0) is None
    assert update_gop(None, 5.0, 7.0) == 2.0
    assert update_gop(2.0, 7.0, 7.0) == 2.0  # repeated timestamp keeps the estimate


def test_stay_synced_only_when_next_snapshot_precedes_next_keyframe() -> None:
    assert stay_synced(0.5, 1.5)
    assert not stay_synced(2.0, 1.5)


@pytest.mark.parametrize(
    ("mode", "interval", "recording", "expected"),
    [
        ("auto", 2.0, False, SessionKind.PERSISTENT),
        ("auto", DEFAULT_SESSION_CROSSOVER_S + 1, False, SessionKind.PER_SNAPSHOT),
        ("auto", 600.0, True, SessionKind.PERSISTENT),
        ("per_snapshot", 1.0, False, SessionKind.PER_SNAPSHOT),
        ("per_snapshot", 60.0, True, SessionKind.PERSISTENT),
        ("persistent", 600.0, False, SessionKind.PERSISTENT),
    ],
)
def test_choose_session(mode: str, interval: float, recording: bool, expected: SessionKind) -> None:
    kind = choose_session(mode, interval_s=interval, snapshots=True, recording=recording)  # type: ignore[arg-type]
    assert kind is expected


def test_choose_session_crossover_is_configurable() -> None:
    assert (
        choose_session("auto", interval_s=30, snapshots=True, recording=False, crossover_s=60) is SessionKind.PERSISTENT
    )


def test_stream_clock_maps_stream_time_to_wall_time() -> None:
    clock = StreamClock.start(100.0, T0)
    when, same = clock.map(101.5, T0 + sec(1.6))
    assert when == T0 + sec(1.5)
    assert (same.stream_s, same.wall, same.early) == (clock.stream_s, clock.wall, False)


def test_stream_clock_reanchors_on_jumps() -> None:
    clock = StreamClock.start(100.0, T0, max_drift_s=2.0)
    when, moved = clock.map(5000.0, T0 + sec(2))  # timestamps jumped (camera restarted its clock)
    assert when == T0 + sec(2)
    assert moved.stream_s == 5000.0
    later, _ = moved.map(5001.0, T0 + sec(3))
    assert later == T0 + sec(3)
    back, _ = moved.map(10.0, T0 + sec(4))  # and back
    assert back == T0 + sec(4)


def test_stream_clock_never_maps_a_packet_after_its_arrival() -> None:
    # The session's first packets arrive late, in a burst: 1 s of stream in 10 ms of wall time.
    clock = StreamClock.start(0.0, T0)
    burst = [clock := clock.map(i * 0.04, T0 + sec(i * 0.0004))[1] for i in range(26)]
    assert burst[-1].stream_s == pytest.approx(1.0)
    # then live: every later packet maps to (at most) its arrival, however the arrivals jitter
    for i in range(1, 200):
        arrival = T0 + sec(0.01 + i * 0.04 + (0.015 if i % 3 else 0.0))
        when, clock = clock.map(1.0 + i * 0.04, arrival)
        assert when <= arrival
        assert (arrival - when).total_seconds() < 0.02


def test_stream_clock_follows_a_camera_clock_that_runs_slow() -> None:
    # The camera's clock runs 1 % slow: each second of wall time carries 0.99 s of stream time.
    # Without following it the mapping would fall 0.3 s behind every 30 s until a 2 s jump.
    clock = StreamClock.start(0.0, T0, max_drift_s=2.0, window_s=10.0)
    lags = []
    for i in range(1, 3000):  # 300 s at 10 packets a second, arriving 0-20 ms late
        arrival = T0 + sec(i * 0.1 + 0.02 * (i % 3 == 0))
        when, clock = clock.map(i * 0.099, arrival)
        assert when <= arrival
        lags.append((arrival - when).total_seconds())
    assert max(lags) < 0.25  # at most one window's drift (0.1 s) plus the jitter, never a jump
    assert max(lags[-100:]) < 0.25


def test_stream_clock_burst_after_a_stall_keeps_true_times() -> None:
    clock = StreamClock.start(0.0, T0)
    for i in range(1, 50):
        _, clock = clock.map(i * 0.04, T0 + sec(i * 0.04))
    # 1.5 s without packets, then the backlog at once: each mapped to when it was taken, not to its arrival
    for i in range(50, 88):
        when, clock = clock.map(i * 0.04, T0 + sec(3.5 + (i - 50) * 0.001))
        assert when == T0 + sec(i * 0.04)


def test_stream_clock_survives_absurd_timestamps() -> None:
    clock = StreamClock.start(0.0, T0)
    when, clock = clock.map(1e300, T0 + sec(0.04))
    assert when == T0 + sec(0.04)
    when, _ = clock.map(-1e300, T0 + sec(0.08))
    assert when == T0 + sec(0.08)


def test_stream_schedule_has_no_gap_or_double_at_session_start() -> None:
    # keyframes once a second, exactly on the grid: a snapshot at each, none missed, none twice
    due = session_first_due_s(10.0, 1.0, None)
    taken = []
    for i in range(0, 126):
        t = 10.0 + i * 0.04
        due = stream_due_s(due, t, 1.0)
        if i % 25 == 0 and is_due(t, due, 1.0):
            taken.append(round(t - 10.0, 3))
            due = advance_due_s(due, 1.0, t)
    assert taken == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


def test_keyframe_a_hair_early_still_counts() -> None:
    assert is_due(10.999, 11.0, 1.0)
    assert not is_due(10.96, 11.0, 1.0)  # the frame before (25 fps) is not


def test_reopened_session_keeps_the_interval() -> None:
    assert session_first_due_s(50.0, 1.0, 0.3) == pytest.approx(50.7)  # reopened 0.3 s after the last snapshot
    assert session_first_due_s(50.0, 1.0, 5.0) == 50.0  # long gap: due at once
    assert session_first_due_s(50.0, 1.0, -2.0) == 51.0  # wall clock stepped back: at most one interval


def test_schedule_restarts_when_timestamps_jump_back() -> None:
    assert stream_due_s(500.0, 10.0, 1.0) == 10.0
    assert stream_due_s(11.0, 10.0, 1.0) == 11.0


def test_advance_due_s_skips_missed_points() -> None:
    assert advance_due_s(0.0, 1.0, 0.3) == 1.0
    assert advance_due_s(0.0, 1.0, 3.5) == 4.0


def test_failure_logging_is_logarithmic_for_the_same_error() -> None:
    logged = [n for n in range(1, 1001) if should_log_failure(n, "refused", "refused")]
    assert logged == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    assert should_log_failure(3, "timeout", "refused")  # a new error is always said


def test_stream_clock_wall_of_is_bounded_by_arrival_and_the_floor() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    clock = StreamClock.start(10.0, t0 + timedelta(seconds=0.8))  # first packet arrived 0.8 s late
    _, clock = clock.map(11.0, t0 + timedelta(seconds=1.0))  # the next one on time: the mapping moves earlier
    arrived = t0 + timedelta(seconds=0.8)
    assert clock.wall_of(10.0, not_after=arrived) == t0
    assert clock.wall_of(12.0, not_after=arrived) == arrived  # never later than its arrival
    floor = arrived - timedelta(seconds=0.5)
    assert clock.wall_of(10.0, not_after=arrived, not_before=floor) == floor

"""The capture loop's decisions: due times, gating mode, session kind, stream clock, backoff, log cadence."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from camops_workers.capture.sampler import (
    DEFAULT_SESSION_CROSSOVER_S,
    GateMode,
    SessionKind,
    StreamClock,
    advance_due,
    backoff_delay,
    choose_session,
    gate_mode,
    should_log_failure,
    stay_synced,
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
    assert same is clock


def test_stream_clock_reanchors_on_jumps() -> None:
    clock = StreamClock.start(100.0, T0, max_drift_s=2.0)
    when, moved = clock.map(5000.0, T0 + sec(2))  # timestamps jumped (camera restarted its clock)
    assert when == T0 + sec(2)
    assert moved.stream_s == 5000.0
    later, _ = moved.map(5001.0, T0 + sec(3))
    assert later == T0 + sec(3)


def test_backoff_doubles_from_one_second_and_caps_at_five_minutes() -> None:
    delays = [backoff_delay(n, 0.5) for n in range(1, 12)]
    assert delays[:4] == [1.0, 2.0, 4.0, 8.0]
    assert delays[-1] == 300.0
    assert all(a <= b for a, b in itertools.pairwise(delays))


def test_backoff_jitter_spreads_but_never_exceeds_cap() -> None:
    low, high = backoff_delay(3, 0.0), backoff_delay(3, 0.999)
    assert 3.1 < low < 4.0 < high < 4.9
    assert backoff_delay(40, 0.999) == 300.0
    with pytest.raises(ValueError, match="attempt"):
        backoff_delay(0, 0.5)


def test_failure_logging_is_logarithmic_for_the_same_error() -> None:
    logged = [n for n in range(1, 1001) if should_log_failure(n, "refused", "refused")]
    assert logged == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    assert should_log_failure(3, "timeout", "refused")  # a new error is always said

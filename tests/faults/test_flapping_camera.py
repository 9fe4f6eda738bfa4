"""Fault: an RTSP camera that keeps going away and coming back (a real GStreamer server, killed
and restarted on the same port).

Every return must be seen at once, whatever came before: a session that delivered a picture
resets the reconnect backoff, and the backoff is capped at about a second. Measured: the share
of the camera's up-time (1 s slots) that has a snapshot, and how long after each return the
first snapshot was taken.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.faults.capture_support import WorkerThread, contract, coverage
from tests.servers.rtsp import RtspServer

pytestmark = pytest.mark.slow

INTERVAL_S = 1.0
#: (seconds down, seconds up) after the first up period: one long cycle (10 s down, 20 s up),
#: then short ones (5 s / 5 s)
CYCLES = ((10.0, 20.0), (5.0, 5.0), (5.0, 5.0))
#: "captured again within a few seconds of returning"
MAX_RECAPTURE_S = 3.0


def test_flapping_camera_is_captured_through_its_up_time(
    tmp_path: Path, rtsp_server: Callable[..., RtspServer]
) -> None:
    server = rtsp_server(gop=5)  # a keyframe every 0.2 s: snapshots exactly one interval apart
    windows: list[tuple[datetime, datetime]] = []
    errors_while_up: list[str | None] = []
    with WorkerThread(contract(tmp_path, server.url("/live"), INTERVAL_S)) as running:
        deadline = time.monotonic() + 20
        while not running.sink.taken() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert running.sink.taken(), "no first snapshot"
        time.sleep(3.0)
        for down_s, up_s in CYCLES:
            server.stop()
            time.sleep(down_s)
            server.start()
            up = datetime.now(UTC)  # the server printed READY: it accepts sessions from now on
            time.sleep(up_s)
            windows.append((up, datetime.now(UTC)))
            errors_while_up.append(running.worker.state().last_error)
        server.stop()
        time.sleep(0.5)
        state = running.worker.state()
    taken = running.sink.taken()

    rows = []
    total_covered = total_slots = 0
    for start, end in windows:
        covered, slots = coverage(taken, start, end, INTERVAL_S)
        first = min((t for t in taken if t >= start), default=None)
        latency = (first - start).total_seconds() if first else float("inf")
        offsets = " ".join(f"{(t - start).total_seconds():.2f}" for t in taken if start <= t < end)
        rows.append((round((end - start).total_seconds()), covered, slots, latency, offsets))
        total_covered += covered
        total_slots += slots
    share = total_covered / total_slots
    print("\nflapping camera: up s, slots with a snapshot / slots, first snapshot after return (s)")
    for up_s, covered, slots, latency, offsets in rows:
        print(f"  up {up_s:>3}  {covered:>3}/{slots:<3}  {latency:5.2f}   snapshots at {offsets}")
    print(f"  share of up-time with snapshots: {share:.1%}; reconnects {state.reconnects}")

    assert share >= 0.9
    assert all(row[3] <= MAX_RECAPTURE_S for row in rows)
    assert state.reconnects == len(CYCLES)  # reconnects count the returns
    assert errors_while_up == [None] * len(CYCLES)  # the last error cleared once pictures came again
    assert state.last_error is not None  # the camera is down at the end: the error says why

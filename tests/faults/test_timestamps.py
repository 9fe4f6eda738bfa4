"""Fault: snapshot times must be true across session starts and reconnects (a real GStreamer
RTSP camera, restarted twice).

A session starts with a burst (about a second of stream delivered at once), which used to put
every key up to a second in the future and drop the +1 s snapshot after each (re)connect. Here:
no key is later than the moment its snapshot was put into the queue, and within each session
the snapshots are one interval apart (keyframes once a second, on the interval), none missing,
none doubled; across a reconnect none come closer than the interval.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from camops_workers.storage.keys import key_time
from tests.faults.capture_support import WorkerThread, contract, sessions_of
from tests.servers.rtsp import RtspServer

pytestmark = pytest.mark.slow

INTERVAL_S = 1.0
SESSION_S = 5.0
#: keyframes come once a second on the stream's exact clock; the wall mapping moves by a few ms
#: (more on a loaded machine); the bug this guards against gave 0.04 s and 1.9 s
SPACING_TOLERANCE_S = 0.2


def test_snapshot_times_are_true_across_reconnects(tmp_path: Path, rtsp_server: Callable[..., RtspServer]) -> None:
    server = rtsp_server(gop=25, fps=25)  # a keyframe every second
    with WorkerThread(contract(tmp_path, server.url("/live"), INTERVAL_S)) as running:
        sessions = sessions_of(server, 3, SESSION_S)
    stored = sorted(running.sink.snapshots, key=lambda s: s.captured_at)
    assert stored

    late = [(key_time(s.key), s.put_at) for s in stored]
    ahead = max(((k - p).total_seconds() for k, p in late if k is not None), default=0.0)
    gaps = [(b.captured_at - a.captured_at).total_seconds() for a, b in itertools.pairwise(stored)]
    per_session = [[s for s in stored if a <= s.captured_at <= b] for a, b in sessions]
    inner = [
        (b.captured_at - a.captured_at).total_seconds() for snaps in per_session for a, b in itertools.pairwise(snaps)
    ]
    print(
        f"\ntimestamps: {len(stored)} snapshots in {len(sessions)} sessions of {SESSION_S:g}s; "
        f"key minus put time at most {ahead:+.3f}s; spacing within sessions {min(inner):.3f}-{max(inner):.3f}s; "
        f"closest pair overall {min(gaps):.3f}s"
    )
    assert all(k is not None for k, _ in late)
    assert ahead <= 0.0, "a key is later than the moment its snapshot was stored"
    assert sum(len(s) for s in per_session) == len(stored), "a snapshot outside every session"
    for snaps in per_session:
        assert len(snaps) >= SESSION_S / INTERVAL_S - 2
    assert all(abs(g - INTERVAL_S) <= SPACING_TOLERANCE_S for g in inner), inner
    assert min(gaps) >= INTERVAL_S - SPACING_TOLERANCE_S

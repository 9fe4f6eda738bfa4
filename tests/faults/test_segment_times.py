"""Fault: a segment's key time is its first frame's true time, across session starts (a real
GStreamer RTSP camera, restarted once).

A session starts with a burst (about a second of stream delivered at once). A segment used to
take its time from its first packet's arrival, up to a second late; now it maps its first frame's
stream time on the session's clock like a snapshot does. The first segment and the first snapshot
of a session start on the same keyframe, so their times agree within a few frames, and no segment's
key is later than the moment it was stored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from camops_workers.storage.keys import key_time
from tests.faults.capture_support import WorkerThread, contract, sessions_of
from tests.servers.rtsp import RtspServer

pytestmark = pytest.mark.slow

SESSION_S = 4.0
SEGMENT_S = 2.0
#: The first snapshot and the first segment start on the same keyframe. Between the two stampings the
#: clock's mapping only moves earlier (a packet that arrives sooner shows the stream is earlier than
#: thought), so the segment is never later than the snapshot, and earlier by at most a little. The
#: bug stamped the segment at its packet's arrival: later than the snapshot by the session start's
#: delivery lag (0.08 s here on an idle machine with 320x240, up to ~1 s for a big stream).
EARLIER_AT_MOST_S = 0.12
LATER_AT_MOST_S = 0.02  # half a frame at 25 fps: rounding only


def test_segment_times_match_the_first_frame(tmp_path: Path, rtsp_server: Callable[..., RtspServer]) -> None:
    server = rtsp_server(gop=25, fps=25)  # a keyframe every second
    with WorkerThread(contract(tmp_path, server.url("/live"), 1.0, segment_s=SEGMENT_S)) as running:
        sessions = sessions_of(server, 2, SESSION_S)
    snapshots = sorted(running.sink.snapshots, key=lambda s: s.captured_at)
    segments = sorted(running.sink.segments, key=lambda s: s.captured_at)
    offsets: list[float] = []
    for up, down in sessions:
        snaps = [s for s in snapshots if up <= s.captured_at <= down]
        segs = [s for s in segments if up <= s.captured_at <= down]
        assert snaps, (up, down, snapshots)
        assert segs, (up, down, segments)
        # the snapshot of the segment's first keyframe: the nearest one (snapshots are a keyframe apart)
        nearest = min(snaps, key=lambda s: abs((segs[0].captured_at - s.captured_at).total_seconds()))
        offsets.append(round((segs[0].captured_at - nearest.captured_at).total_seconds(), 3))
    ahead = max((key_time(s.key) - s.put_at).total_seconds() for s in segments)  # type: ignore[operator]
    print(
        f"\nsegment times: {len(segments)} segments, {len(snapshots)} snapshots in {len(sessions)} sessions; "
        f"first segment minus its keyframe's snapshot per session {offsets} s; "
        f"segment key minus put time at most {ahead:+.3f}s"
    )
    assert all(abs((key_time(s.key) - s.captured_at).total_seconds()) < 0.001 for s in segments)  # type: ignore[operator]
    assert ahead <= 0.0, "a segment's key is later than the moment it was stored"
    assert all(-EARLIER_AT_MOST_S <= o <= LATER_AT_MOST_S for o in offsets), offsets

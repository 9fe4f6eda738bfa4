"""Fault: a stream whose timestamps go backwards (a camera that restarts its clock mid-GOP, a
spliced stream) makes the MP4 muxer refuse packets. That used to end the whole session as an
"unexpected" failure (reconnect, backoff); now the open segment is closed with what it holds,
the error is counted (metric and the state's last error) and the next keyframe starts a new
segment, while the session and its snapshots go on.

The stream is a real clip made here with PyAV: two MPEG-TS runs of H.264 back to back, the
second starting 2 s earlier on the stream's clock than the first ended, so its first packets go
back in time while staying inside the open segment. Played as a looped ``file://`` source.
"""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.faults.capture_support import WorkerThread, contract
from tests.integration.capture.helpers import drain, stored

pytestmark = pytest.mark.slow

FPS = 25
RUN_S = 3
#: the second run starts this far into the first run's time: 2 s back in time
BACK_TO_S = 1.0
WATCH_S = 9.0


def _run(path: Path, start_s: float, shade: int) -> None:
    with av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"bframes": "0", "g": str(FPS), "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.time_base = Fraction(1, 90000)
        for i in range(RUN_S * FPS):
            picture = np.full((120, 160, 3), shade, dtype=np.uint8)
            picture[:, (i * 4) % 160] = 255  # a moving line: every frame differs
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = int((start_s + i / FPS) * 90000)
            frame.time_base = Fraction(1, 90000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def _frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams.video[0]))


@pytest.fixture
def backwards_clip(tmp_path: Path) -> Path:
    first, second = tmp_path / "a.ts", tmp_path / "b.ts"
    _run(first, 0.0, 60)
    _run(second, BACK_TO_S, 160)
    clip = tmp_path / "backwards.ts"
    clip.write_bytes(first.read_bytes() + second.read_bytes())  # MPEG-TS runs concatenate byte for byte
    return clip


def test_a_muxer_error_cuts_the_segment_and_the_session_goes_on(tmp_path: Path, backwards_clip: Path) -> None:
    config = contract(tmp_path, f"file://{backwards_clip}", 1.0, segment_s=60.0)
    with WorkerThread(config) as running:
        deadline = time.monotonic() + WATCH_S
        while time.monotonic() < deadline:
            time.sleep(0.2)
        state = running.worker.state()
        errors = running.worker.metrics.segment_errors._value.get()
        first_error = state.last_error
    drain(config)
    frames = [_frames(path) for path in stored(config, ".mp4")]  # every stored segment decodes
    print(
        f"\nmuxer errors: {errors:.0f} counted in {WATCH_S:g}s of a clip going back {RUN_S - BACK_TO_S:g}s "
        f"every {2 * RUN_S}s; segments stored {len(frames)} with frames {frames}; "
        f"source errors {state.source_errors}, reconnects {state.reconnects}; snapshots {state.snapshots}; "
        f"last error {first_error!r}"
    )
    assert errors >= 1
    assert state.segment_errors == errors
    assert state.source_errors == 0, "the session was dropped"
    assert state.reconnects == 0
    assert state.source_state == "connected"
    assert first_error is not None
    assert "muxer refused" in first_error
    assert len(frames) >= errors  # each error closed its segment with what it held, then a new one started
    assert frames[0] >= RUN_S * FPS - 2  # the first one holds the whole first run
    assert all(n > 0 for n in frames)
    assert state.snapshots >= WATCH_S - 3

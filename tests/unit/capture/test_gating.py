"""Keyframe-gated snapshots show the picture of their due time while decoding only part of the stream.

A clip whose every frame carries its own number (as its grey level) goes through the worker's
snapshot path; each stored JPEG is decoded and its frame number compared with the frame the
snapshot was due at. Snapshots due between keyframes (GOP longer than the interval) are the
ones that need the buffered burst decode with non-reference frames skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import simplejpeg

from camops_workers.capture.jpeg import inspect_jpeg
from camops_workers.capture.worker import CaptureWorker
from camops_workers.contract import WorkerConfig
from camops_workers.items import Capture, ItemKind

WIDTH, HEIGHT, FPS, GOP = 320, 240, 25, 50
SECONDS = 8


class ListSink:
    def __init__(self) -> None:
        self.captures: list[Capture] = []
        self.thumbnails: list[Capture] = []

    def put(self, capture: Capture) -> str:
        (self.captures if capture.kind is ItemKind.SNAPSHOT else self.thumbnails).append(capture)
        return str(len(self.captures) + len(self.thumbnails))


def grey_of(frame_number: int) -> int:
    return 20 + 4 * (frame_number % GOP)


def numbered_clip(path: Path, b_frames: int) -> Path:
    """H.264, GOP 2 s; frame k is a flat grey whose level encodes k within its GOP."""
    with av.open(str(path), "w", format="mp4") as out:
        stream: Any = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.gop_size = GOP
        stream.codec_context.options = {
            "preset": "ultrafast" if b_frames == 0 else "veryfast",
            "keyint_min": str(GOP),
            "sc_threshold": "0",
            "bf": str(b_frames),
            "crf": "12",
        }
        for k in range(SECONDS * FPS):
            image = np.full((HEIGHT, WIDTH, 3), grey_of(k), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = k
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def replay(clip: Path, tmp_path: Path, interval: float) -> tuple[list[Capture], CaptureWorker, datetime]:
    config = WorkerConfig.model_validate(
        {
            "camera": "gate",
            "source": {"url": f"file://{clip}"},
            "snapshots": {"interval_s": interval, "quality": 90},
            "storage": {"kind": "local", "directory": str(tmp_path / "store")},
            "queue": {"directory": str(tmp_path / "queue")},
        }
    )
    sink = ListSink()
    worker = CaptureWorker(config, sink)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        worker.replay(stream, container.demux(stream), start)
    return sink.captures, worker, start


@pytest.mark.parametrize("b_frames", [0, 3])
def test_snapshots_between_keyframes_show_their_due_frame(tmp_path: Path, b_frames: int) -> None:
    clip = numbered_clip(tmp_path / "numbered.mp4", b_frames)
    captures, worker, start = replay(clip, tmp_path, interval=1.0)

    # One per second once the GOP is known (the first keyframe spacing is measured, not assumed).
    assert len(captures) >= SECONDS - 2
    mid_gop = 0
    for capture in captures:
        assert capture.data is not None
        info = inspect_jpeg(capture.data)
        assert (info.width, info.height) == (WIDTH, HEIGHT)
        # The capture time is the picture's own stream time, and that is the due time (whole seconds
        # here) or, with B-frames, the first picture the decoder outputs at or after it.
        seconds = (capture.captured_at - start).total_seconds()
        assert 0 <= seconds - round(seconds) <= (0.0 if b_frames == 0 else 4 / FPS) + 1e-6
        frame_number = round(seconds * FPS)
        grey = float(simplejpeg.decode_jpeg(capture.data, colorspace="GRAY").mean())
        shown = round((grey - 20) / 4)
        assert shown == frame_number % GOP, (capture.captured_at, grey)
        mid_gop += frame_number % GOP != 0
    assert mid_gop >= 2
    # Gated: decoded well under every frame of the clip (about half at 1/s on a 2 s GOP, fewer with
    # non-reference frames skipped).
    decoded = worker.metrics.frames_decoded._value.get()
    assert decoded < 0.6 * SECONDS * FPS


def test_interval_longer_than_the_gop_decodes_keyframes_only(tmp_path: Path) -> None:
    clip = numbered_clip(tmp_path / "numbered.mp4", 0)
    captures, worker, _ = replay(clip, tmp_path, interval=4.0)
    assert len(captures) == 2
    for capture in captures:
        assert capture.data is not None
        grey = float(simplejpeg.decode_jpeg(capture.data, colorspace="GRAY").mean())
        assert abs(grey - grey_of(0)) <= 2
    assert worker.metrics.frames_decoded._value.get() == 2

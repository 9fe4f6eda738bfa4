"""Test media generated with PyAV (never committed): H.264 clips, optionally changing size mid-stream."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

__all__ = ["make_clip"]


def make_clip(
    path: str | Path,
    parts: Sequence[tuple[int, int, float]],
    *,
    fps: int = 25,
    gop: int = 25,
    container: str = "mp4",
) -> Path:
    """Write an H.264 clip of ``parts`` = [(width, height, seconds), ...] (a moving bar on a grey ramp).

    Parts after the first are encoded by a new encoder (new SPS/PPS), as when a camera changes
    resolution; use ``container="mpegts"`` for those (MP4 holds one set of parameters).
    """
    out = av.open(str(path), "w", format=container)
    first_w, first_h, _ = parts[0]
    stream = out.add_stream("libx264", rate=fps)
    stream.width, stream.height, stream.pix_fmt = first_w, first_h, "yuv420p"
    pts = 0
    for index, (width, height, seconds) in enumerate(parts):
        if index == 0:
            encoder = stream.codec_context
        else:
            encoder = av.CodecContext.create("libx264", "w")
            encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
            encoder.time_base = Fraction(1, fps)
            encoder.framerate = Fraction(fps, 1)
        encoder.gop_size = gop
        encoder.options = {"preset": "ultrafast", "tune": "zerolatency", "keyint_min": str(gop)}
        for k in range(round(seconds * fps)):
            image = np.empty((height, width, 3), np.uint8)
            image[:] = np.linspace(30, 220, width, dtype=np.uint8)[None, :, None]
            image[:, (k * 7) % width] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = pts
            pts += 1
            for packet in encoder.encode(frame):
                packet.stream = stream
                out.mux(packet)
        for packet in encoder.encode(None):
            packet.stream = stream
            out.mux(packet)
    out.close()
    return Path(path)

"""What a camera's video stream is: codec, picture size, declared and measured frame rate.

``stream_info`` reads an opened PyAV stream; ``FrameRateMeter`` measures the frame rate from the
packets' own stream times (pure: it is fed stream seconds), so a camera that declares 25 fps and
sends 12 shows 12.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["FrameRateMeter", "StreamInfo", "stream_info"]

#: Stream seconds a frame-rate measurement spans.
RATE_WINDOW_S = 5.0


@dataclass(frozen=True, slots=True)
class StreamInfo:
    #: ``h264``, ``hevc``, ``mjpeg``, ... (``jpeg`` for HTTP snapshot cameras)
    codec: str
    width: int | None = None
    height: int | None = None
    #: The frame rate the stream declares (SDP or container), if any.
    declared_fps: float | None = None
    #: Frames per second of stream time over the last measurement window.
    measured_fps: float | None = None


def stream_info(stream: Any) -> StreamInfo:
    """The codec, size and declared frame rate of an opened PyAV video stream."""
    ctx = stream.codec_context
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    declared = float(rate) if rate else None
    return StreamInfo(
        codec=str(ctx.name),
        width=int(ctx.width) if ctx.width else None,
        height=int(ctx.height) if ctx.height else None,
        declared_fps=round(declared, 3) if declared and declared < 1000 else None,
    )


class FrameRateMeter:
    """Frames per stream second, a new value each ``window_s`` of stream time."""

    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self._start: float | None = None
        self._frames = 0

    def add(self, stream_s: float) -> float | None:
        """Count one frame at ``stream_s``; returns the rate when a window is complete."""
        if self._start is None or stream_s < self._start:
            self._start, self._frames = stream_s, 0
            return None
        self._frames += 1
        span = stream_s - self._start
        if span < self.window_s:
            return None
        rate = self._frames / span
        self._start, self._frames = stream_s, 0
        return round(rate, 2)

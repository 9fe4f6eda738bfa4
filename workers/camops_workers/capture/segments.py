"""MP4 segments remuxed from the camera's packets (never decoded, never re-encoded).

A segment starts on a keyframe and is cut at the first keyframe once ``segment_duration``
has passed, so every file plays from its first byte. A change of the stream's parameter sets
(SPS/PPS, i.e. resolution or codec settings changed mid-stream) closes the segment at that
keyframe and starts a new one carrying the new parameters, instead of writing a file whose
header describes pictures it no longer holds.

Segments are written to a work folder on the queue's filesystem and handed over closed
(``ClosedSegment``); the caller enqueues them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

__all__ = [
    "ClosedSegment",
    "SegmentWriter",
    "iter_nal_units",
    "parameter_sets",
    "should_cut",
]

_H264_PARAMS = {7, 8}  # SPS, PPS
_HEVC_PARAMS = {32, 33, 34}  # VPS, SPS, PPS


def iter_nal_units(data: bytes) -> Iterator[bytes]:
    """The NAL units of an Annex B (start codes) or length-prefixed (4-byte, MP4 style) access unit."""
    if data.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01")):
        pos = 0
        starts: list[tuple[int, int]] = []
        while True:
            idx = data.find(b"\x00\x00\x01", pos)
            if idx < 0:
                break
            starts.append((idx, idx + 3))
            pos = idx + 3
        for i, (_, begin) in enumerate(starts):
            end = starts[i + 1][0] if i + 1 < len(starts) else len(data)
            yield data[begin:end].rstrip(b"\x00") if i + 1 < len(starts) else data[begin:end]
        return
    pos = 0
    while pos + 4 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        if size <= 0 or pos + 4 + size > len(data):
            return
        yield data[pos + 4 : pos + 4 + size]
        pos += 4 + size


def parameter_sets(data: bytes, codec: str) -> bytes | None:
    """The parameter-set NAL units (Annex B, start codes included) in a keyframe, or None.

    Two keyframes with different results mean the encoder's parameters changed.
    """
    found: list[bytes] = []
    for nal in iter_nal_units(data):
        if not nal:
            continue
        if codec == "hevc":
            kind = (nal[0] >> 1) & 0x3F
            wanted = kind in _HEVC_PARAMS
        else:
            kind = nal[0] & 0x1F
            wanted = kind in _H264_PARAMS
        if wanted:
            found.append(b"\x00\x00\x00\x01" + nal)
    return b"".join(found) if found else None


def should_cut(elapsed_s: float, target_s: float, is_keyframe: bool, params_changed: bool) -> bool:
    """Whether a keyframe ends the open segment: its parameters changed, or it is long enough."""
    if not is_keyframe:
        return False
    return params_changed or elapsed_s >= target_s - 0.001


@dataclass(frozen=True, slots=True)
class ClosedSegment:
    path: Path
    started_at: datetime
    duration_s: float
    size: int
    width: int
    height: int
    codec: str


@dataclass(slots=True)
class _Open:
    container: Any
    stream: Any
    path: Path
    started_at: datetime
    start_s: float
    base_ts: int
    last_s: float
    params: bytes | None
    width: int
    height: int
    codec: str


def _family(in_stream: Any) -> str:
    name = str(in_stream.codec.name)
    return "hevc" if name in {"hevc", "h265"} else name


class SegmentWriter:
    """Remuxes one video stream's packets into keyframe-aligned MP4 files under ``directory``."""

    def __init__(self, directory: str | Path, camera: str, segment_duration_s: float) -> None:
        self._dir = Path(directory)
        self._dir.mkdir(parents=True, exist_ok=True)
        self._camera = camera
        self._target = segment_duration_s
        self._open: _Open | None = None
        self._params: bytes | None = None
        self._size: tuple[int, int] | None = None
        self._seq = 0
        self.packets_skipped = 0

    @property
    def is_open(self) -> bool:
        return self._open is not None

    def discard_leftovers(self) -> int:
        """Remove partial files a killed worker left behind; returns how many."""
        removed = 0
        for path in self._dir.glob(f"{self._camera}-*.mp4.part"):
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
        return removed

    def write(self, packet: Any, in_stream: Any, *, stream_s: float, wall: datetime) -> ClosedSegment | None:
        """Add one demuxed packet (consumed: muxing takes its data). Returns a segment it closed, if any."""
        if packet.pts is None or packet.dts is None:
            self.packets_skipped += 1
            return None
        is_key = bool(packet.is_keyframe)
        codec = _family(in_stream)
        closed: ClosedSegment | None = None
        params: bytes | None = None
        changed = False
        if is_key:
            data = bytes(packet)
            params = parameter_sets(data, codec)
            changed = params is not None and self._params is not None and params != self._params
            if changed:
                self._size = _probe_size(data, codec) or self._size
            if params is not None:
                self._params = params
        current = self._open
        if current is not None and should_cut(stream_s - current.start_s, self._target, is_key, changed):
            closed = self._finish(current, end_s=stream_s)
            current = None
        if current is None:
            if not is_key:
                self.packets_skipped += 1
                return closed
            if self._size is None:
                self._size = (in_stream.codec_context.width, in_stream.codec_context.height)
                if 0 in self._size:  # nothing analysed at open: learn it from this keyframe
                    self._size = _probe_size(bytes(packet), codec) or self._size
            current = self._start(in_stream, packet, stream_s=stream_s, wall=wall, params=params, size=self._size)
        packet.pts -= current.base_ts
        packet.dts -= current.base_ts
        if packet.dts < 0 or packet.pts < 0:
            self.packets_skipped += 1
            return closed
        packet.stream = current.stream
        current.container.mux(packet)
        current.last_s = max(current.last_s, stream_s)
        return closed

    def close(self, *, discard: bool = False, min_duration_s: float = 0.5) -> ClosedSegment | None:
        """Close the open segment (on shutdown or disconnect); discard it if asked or too short."""
        current = self._open
        if current is None:
            return None
        self._params = None
        self._size = None
        frame_s = 1.0 / 25.0
        duration = current.last_s - current.start_s + frame_s
        if discard or duration < min_duration_s:
            self._open = None
            with contextlib.suppress(Exception):
                current.container.close()
            with contextlib.suppress(OSError):
                current.path.unlink()
            return None
        return self._finish(current, end_s=current.last_s + frame_s)

    def _start(
        self,
        in_stream: Any,
        packet: Any,
        *,
        stream_s: float,
        wall: datetime,
        params: bytes | None,
        size: tuple[int, int],
    ) -> _Open:
        import av

        self._seq += 1
        path = self._dir / f"{self._camera}-{os.getpid()}-{self._seq}.mp4.part"
        container = av.open(str(path), "w", format="mp4")
        stream = container.add_stream_from_template(in_stream)
        if params is not None:
            stream.codec_context.extradata = params
        stream.codec_context.width, stream.codec_context.height = size
        stream.time_base = in_stream.time_base or Fraction(1, 90000)
        base = packet.dts if packet.dts is not None else packet.pts
        self._open = _Open(
            container=container,
            stream=stream,
            path=path,
            started_at=wall,
            start_s=stream_s,
            base_ts=int(base),
            last_s=stream_s,
            params=params,
            width=size[0],
            height=size[1],
            codec=_family(in_stream),
        )
        return self._open

    def _finish(self, current: _Open, *, end_s: float) -> ClosedSegment:
        self._open = None
        current.container.close()
        final = current.path.with_suffix("")  # drop ".part"
        os.replace(current.path, final)
        with open(final, "rb") as handle:
            os.fsync(handle.fileno())
        return ClosedSegment(
            path=final,
            started_at=current.started_at,
            duration_s=max(0.0, end_s - current.start_s),
            size=final.stat().st_size,
            width=current.width,
            height=current.height,
            codec=current.codec,
        )


def _probe_size(data: bytes, codec: str) -> tuple[int, int] | None:
    """Decode one keyframe with a throwaway decoder to learn the new picture size (rare: on change)."""
    import av

    try:
        decoder: Any = av.CodecContext.create(codec, "r")
        decoder.thread_count = 1
        frames = list(decoder.decode(av.Packet(data))) + list(decoder.decode(None))
    except (av.FFmpegError, ValueError):
        return None
    return (frames[0].width, frames[0].height) if frames else None

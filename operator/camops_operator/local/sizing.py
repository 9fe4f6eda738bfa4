"""Storage growth per camera, computed from measured object sizes (for docs/operations.md).

Two parts:

- :func:`measure` encodes pictures with the capture worker's own JPEG encoder
  (:func:`camops_workers.capture.jpeg.encode_frame`, the libjpeg-turbo path every
  snapshot takes) and remuxes H.264 packets into MP4 the way segments are written,
  and returns the sizes it saw. ``python -m camops_operator.docgen --measure`` stores
  them in ``docs/sizing.json``.
- :func:`snapshot_growth` and :func:`segment_growth` are pure arithmetic on those sizes:
  objects and bytes per camera per day, week (7 days) and month (30 days), per layout
  and interval. The tables in the operations guide are rendered from them, so the
  numbers in the guide are computed, and ``make docs-check`` keeps them in step.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

__all__ = [
    "DAY_S",
    "GrowthRow",
    "measure",
    "measure_jpeg",
    "measure_mp4_overhead",
    "segment_growth",
    "snapshot_growth",
]

DAY_S = 86_400
PERIODS = {"day": 1, "week": 7, "month": 30}


@dataclass(frozen=True)
class GrowthRow:
    """What one camera adds to storage with one setting."""

    label: str
    objects_per_day: float
    bytes_per_day: float

    def bytes_per(self, period: str) -> float:
        return self.bytes_per_day * PERIODS[period]


def snapshot_growth(jpeg_bytes: float, interval_s: float, layout: str) -> GrowthRow:
    """Growth of one camera's snapshots.

    ``dated`` and ``flat`` keep every snapshot (``dated`` also overwrites one ``latest.jpg``,
    which does not grow); ``latest`` overwrites one object, so it never grows past one JPEG.
    """
    if interval_s <= 0 or jpeg_bytes < 0:
        raise ValueError("interval must be positive and size not negative")
    per_day = DAY_S / interval_s
    if layout == "latest":
        return GrowthRow(f"latest, every {_interval(interval_s)}", 0.0, 0.0)
    if layout not in {"dated", "flat"}:
        raise ValueError(f"unknown layout {layout!r}")
    return GrowthRow(f"{layout}, every {_interval(interval_s)}", per_day, per_day * jpeg_bytes)


def segment_growth(bitrate_bps: float, segment_s: float, overhead_per_frame: float, fps: float) -> GrowthRow:
    """Growth of one camera's recording: the camera's bitrate (segments are remuxed, never
    re-encoded) plus the MP4 index camops adds, which grows with the number of frames."""
    if bitrate_bps <= 0 or segment_s <= 0 or fps <= 0:
        raise ValueError("bitrate, segment duration and fps must be positive")
    per_day = DAY_S / segment_s
    payload = bitrate_bps / 8 * DAY_S
    index = overhead_per_frame * fps * DAY_S
    label = f"{bitrate_bps / 1e6:g} Mbit/s, {fps:g} fps, {_interval(segment_s)} segments"
    return GrowthRow(label, per_day, payload + index)


def _interval(seconds: float) -> str:
    from camops_workers.units import format_duration

    return format_duration(seconds)


# -- measuring ---------------------------------------------------------------------------


def _camera_frame(width: int, height: int, index: int, noise: float) -> Any:
    """The test picture plus sensor-like noise, as a camera's decoder hands it over (limited-range yuv420p)."""
    import av
    import numpy as np

    from camops_operator.local.media import render_picture

    picture = render_picture(width, height, index / 10, ["camops sizing", f"frame {index:03d}", "1234567890"])
    rgb = np.asarray(picture, dtype=np.float32)
    if noise:
        rng = np.random.default_rng(index)
        rgb = rgb + rng.normal(0.0, noise, rgb.shape).astype(np.float32)
    frame = av.VideoFrame.from_ndarray(np.clip(rgb, 0, 255).astype(np.uint8), format="rgb24")
    return frame.reformat(format="yuv420p", dst_color_range="MPEG")


def measure_jpeg(width: int, height: int, *, quality: int = 85, noise: float = 0.0, frames: int = 5) -> int:
    """Mean size in bytes of the worker's JPEG for a ``width`` x ``height`` test picture."""
    from camops_workers.capture.jpeg import encode_frame

    sizes = [len(encode_frame(_camera_frame(width, height, i, noise), quality=quality)) for i in range(frames)]
    return round(sum(sizes) / len(sizes))


def measure_mp4_overhead(*, width: int = 1280, height: int = 720, fps: int = 15, seconds: int = 20) -> float:
    """MP4 bytes beyond the H.264 payload, per frame, when packets are remuxed into one file as segments are
    (fragmented MP4: a fragment header per second and an index entry per frame)."""
    import av

    encoded = io.BytesIO()
    packets: list[Any] = []
    with av.open(encoded, mode="w", format="h264") as raw:
        stream: Any = raw.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.options = {"preset": "ultrafast", "tune": "zerolatency"}
        for index in range(fps * seconds):
            frame = _camera_frame(width, height, index % 10, 0.0)
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            packets += stream.encode(frame)
        packets += stream.encode()
    payload = sum(p.size for p in packets)
    from camops_workers.capture.segments import MUXER_OPTIONS

    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4", container_options=dict(MUXER_OPTIONS)) as container:  # fragmented
        video: Any = container.add_stream("h264", rate=fps)
        video.width, video.height = width, height
        video.time_base = Fraction(1, fps)
        video.codec_context.extradata = stream.codec_context.extradata
        for index, packet in enumerate(packets):
            packet.stream = video
            packet.pts = packet.dts = index
            packet.time_base = Fraction(1, fps)
            container.mux(packet)
    return float(len(out.getvalue()) - payload) / len(packets)


def measure(sizes: Sequence[tuple[int, int]] = ((1280, 720), (1920, 1080)), *, quality: int = 85) -> dict[str, Any]:
    """Everything the growth tables need, measured now (a few seconds of CPU)."""
    jpeg = {}
    for width, height in sizes:
        jpeg[f"{width}x{height}"] = {
            "clean": measure_jpeg(width, height, quality=quality),
            "noisy": measure_jpeg(width, height, quality=quality, noise=6.0),
        }
    return {
        "quality": quality,
        "jpeg_bytes": jpeg,
        "mp4_overhead_bytes_per_frame": round(measure_mp4_overhead(), 1),
        "how": (
            "the demo's test picture (colour gradients, text, a moving bar) as limited-range yuv420p, encoded by "
            "the worker's encoder (camops_workers.capture.jpeg.encode_frame) at the quality shown, clean and with "
            "Gaussian sensor-like noise (sigma 6 levels), mean of 5 frames; the MP4 overhead from 20 s of H.264 "
            "packets remuxed into one fragmented MP4 with PyAV as segments are written, "
            "(file size - payload) / frames. "
            "Measure again with `python -m camops_operator.docgen --measure`."
        ),
    }

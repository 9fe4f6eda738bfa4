"""Synthetic pictures for the demo cameras: an H.264 clip (PyAV) and JPEG frames with a clock.

Every frame shows what it is (the camera's label, the time, a frame counter) over a
moving pattern, so a person opening a stored JPEG or MP4 sees at once that the
pictures are fresh and moving.
"""

from __future__ import annotations

import io
import os
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["CLIP_VERSION", "ClipSpec", "ensure_clip", "render_jpeg", "render_picture", "write_clip"]

#: bump when the clip's content changes, so cached clips are regenerated
CLIP_VERSION = 1


class ClipSpec:
    """Size and timing of the generated clip (small, so generating it takes about a second)."""

    def __init__(self, *, width: int = 640, height: int = 360, fps: int = 15, seconds: int = 10, gop: int = 15):
        if width % 2 or height % 2:
            raise ValueError("clip width and height must be even (4:2:0 video)")
        self.width, self.height, self.fps, self.seconds, self.gop = width, height, fps, seconds, gop

    @property
    def frames(self) -> int:
        return self.fps * self.seconds

    def file_name(self) -> str:
        return f"demo-clip-v{CLIP_VERSION}-{self.width}x{self.height}-{self.fps}fps-{self.seconds}s.mp4"


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def render_picture(width: int, height: int, phase: float, lines: list[str]) -> Image.Image:
    """A test picture: colour bands drifting with ``phase`` (0..1), a sweeping bar and ``lines`` of text."""
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    turn = 2 * np.pi
    red = 0.5 + 0.5 * np.sin(turn * (x + phase))
    green = 0.5 + 0.5 * np.sin(turn * (y + 0.5 * phase) + 2.0)
    blue = 0.5 + 0.5 * np.sin(turn * (x + y - phase) + 4.0)
    rgb = np.stack([np.broadcast_to(c, (height, width)) for c in (red, green, blue)], axis=-1)
    rgb = (rgb * 160 + 40).astype(np.uint8)
    bar = int(phase * width) % width
    rgb[:, max(0, bar - width // 40) : bar + width // 40] = 255
    image = Image.fromarray(rgb, "RGB")
    draw = ImageDraw.Draw(image)
    size = max(12, height // 9)
    font = _font(size)
    top = height // 12
    for i, text in enumerate(lines):
        position = (width // 20, top + i * int(size * 1.3))
        draw.text(
            position, text, font=font, fill=(255, 255, 255), stroke_width=max(1, size // 12), stroke_fill=(0, 0, 0)
        )
    return image


def write_clip(path: Path, spec: ClipSpec | None = None, *, label: str = "camops demo") -> Path:
    """Encode the demo clip (H.264 in MP4, a keyframe every ``gop`` frames) to ``path`` atomically."""
    spec = spec or ClipSpec()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    with av.open(str(partial), mode="w", format="mp4") as container:
        stream: Any = container.add_stream("libx264", rate=spec.fps)
        stream.width = spec.width
        stream.height = spec.height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, spec.fps)
        stream.codec_context.gop_size = spec.gop
        stream.codec_context.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": "28"}
        for index in range(spec.frames):
            seconds = index / spec.fps
            picture = render_picture(
                spec.width,
                spec.height,
                index / spec.frames,
                [label, f"clip time {seconds:05.2f} s", f"frame {index:04d} / {spec.frames}"],
            )
            frame = av.VideoFrame.from_ndarray(np.asarray(picture), format="rgb24")
            frame.pts = index
            frame.time_base = Fraction(1, spec.fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    partial.replace(path)
    return path


def ensure_clip(cache_dir: Path, spec: ClipSpec | None = None) -> Path:
    """The cached demo clip in ``cache_dir``, generated on first use."""
    spec = spec or ClipSpec()
    path = cache_dir / spec.file_name()
    if not path.exists() or path.stat().st_size == 0:
        write_clip(path, spec)
    return path


def render_jpeg(now: datetime, *, label: str, width: int = 640, height: int = 360, quality: int = 80) -> bytes:
    """A JPEG whose picture shows ``now`` (the HTTP demo camera answers every request with a fresh one)."""
    phase = (now.timestamp() / 10.0) % 1.0
    picture = render_picture(width, height, phase, [label, now.strftime("%Y-%m-%d"), now.strftime("%H:%M:%S.%f")[:-3]])
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=quality)
    return out.getvalue()

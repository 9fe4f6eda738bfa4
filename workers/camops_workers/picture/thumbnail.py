"""A small full-range luma thumbnail of a picture, the input of every picture measure.

From a decoded video frame it is a strided view of the Y plane (no resampling: one pass over
~1/36 of a 1080p plane), so sensor noise stays per pixel — that is what tells a quiet scene
from a frozen one. From a JPEG (HTTP cameras) libjpeg-turbo decodes luma only at a reduced DCT
scale, which costs a fraction of a full decode. Limited-range video (Y 16-235) is stretched to
full range so thresholds mean the same for every source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "EDGE_ROWS",
    "EDGE_SPAN",
    "THUMBNAIL_WIDTH",
    "Thumbnail",
    "thumbnail_from_frame",
    "thumbnail_from_jpeg",
    "thumbnail_from_luma",
]

#: Thumbnails are about this wide (at least; the stride is a whole number of pixels).
THUMBNAIL_WIDTH = 320
#: Rows of the full picture sampled for the edge strength, and the least span of a wide step
#: (pixels; a 240th of the width on larger pictures).
EDGE_ROWS = 24
EDGE_SPAN = 4
_FULL_RANGE_FORMATS = {"yuvj420p", "yuvj422p", "yuvj444p", "gray"}
_COLOR_RANGE_JPEG = 2  # AVCOL_RANGE_JPEG

Luma = npt.NDArray[np.float32]
#: Raw luma level -> full-range level (a lookup is cheaper than arithmetic on the thumbnail).
_FULL: Luma = np.arange(256, dtype=np.float32)
_FROM_LIMITED: Luma = np.clip((_FULL - 16.0) * (255.0 / 219.0), 0.0, 255.0).astype(np.float32)


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """Full-range luma (float32, 0-255), rows x columns, and the picture's edge sharpness
    (``_edge_strength``: about 1 for sharp edges or none, lower the softer the edges)."""

    luma: Luma
    edge: float
    #: Pixels of the thumbnail per full-range luma level (256 bins); None: computed from ``luma``.
    histogram: npt.NDArray[np.float64] | None = None

    @property
    def width(self) -> int:
        return int(self.luma.shape[1])

    @property
    def height(self) -> int:
        return int(self.luma.shape[0])


def thumbnail_from_luma(
    plane: npt.NDArray[np.uint8], *, full_range: bool = True, width: int = THUMBNAIL_WIDTH
) -> Thumbnail:
    """A thumbnail of a luma plane (rows x columns, uint8): every n-th pixel of every n-th row."""
    if plane.ndim != 2 or plane.shape[0] < 2 or plane.shape[1] < 2:
        raise ValueError(f"a luma plane needs two dimensions of at least 2 pixels, not {plane.shape}")
    stride = max(1, int(plane.shape[1]) // width)
    raw = plane[::stride, ::stride]
    levels = _FULL if full_range else _FROM_LIMITED
    counts = np.bincount(raw.ravel(), minlength=256)
    # The histogram in full-range levels: each raw level's count moved to the level it maps to.
    histogram = np.bincount(np.rint(levels).astype(np.intp), weights=counts, minlength=256).astype(np.float64)
    return Thumbnail(levels[raw], _edge_strength(plane), histogram)


def _edge_strength(plane: npt.NDArray[np.uint8], rows: int = EDGE_ROWS, span: int = 0) -> float:
    """How sharp the picture's edges are: the strong end (99.5th percentile) of the luma step
    between neighbouring pixels over that of steps between pixels ``span`` apart, along ``rows``
    evenly spaced pairs of rows (each pair summed: half the noise, the same edges). A sharp edge
    steps at once (ratio near 1), a blurred one spreads over several pixels (well below 1);
    noise alone keeps it near 1 and a change of light scales both. Needs the picture at the
    resolution it was decoded: a thumbnail hides a blur narrower than its stride."""
    height, width = (int(n) for n in plane.shape)
    span = span or max(EDGE_SPAN, width // 240)
    if height < 2 or width <= span:
        return 1.0
    step = max(1, (height - 1) // rows)
    pairs = plane[: height - 1 : step].astype(np.int16)
    pairs += plane[1::step][: pairs.shape[0]]
    fine = _percentile(np.abs(pairs[:, 1:] - pairs[:, :-1]))
    wide = _percentile(np.abs(pairs[:, span:] - pairs[:, :-span]))
    return fine / max(wide, 1.0)


def _percentile(steps: npt.NDArray[np.int16], share: float = 0.995) -> float:
    cumulative = np.cumsum(np.bincount(steps.ravel(), minlength=512))
    return float(np.searchsorted(cumulative, share * cumulative[-1]))


def thumbnail_from_frame(frame: Any, *, width: int = THUMBNAIL_WIDTH) -> Thumbnail:
    """A thumbnail of a decoded ``av.VideoFrame`` in a YUV or grey format (plane 0 is luma)."""
    plane = frame.planes[0]
    rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
    name = frame.format.name
    full = name in _FULL_RANGE_FORMATS or frame.color_range == _COLOR_RANGE_JPEG
    if not (name.startswith(("yuv", "yuvj", "nv")) or name.startswith("gray")):
        raise ValueError(f"no luma plane in pixel format {name}")
    return thumbnail_from_luma(rows, full_range=full, width=width)


def thumbnail_from_jpeg(data: bytes, *, width: int = THUMBNAIL_WIDTH) -> Thumbnail:
    """A thumbnail of a JPEG: luma decoded at the smallest DCT scale at least twice ``width`` wide
    (a blur of a few pixels survives the edge strength), read with a stride like a video frame."""
    import simplejpeg

    gray = simplejpeg.decode_jpeg(data, colorspace="GRAY", min_width=2 * width, strict=False)
    return thumbnail_from_luma(np.asarray(gray)[:, :, 0] if gray.ndim == 3 else gray, full_range=True, width=width)

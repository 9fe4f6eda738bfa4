"""Re-encode a JPEG for analysis (smaller or lower quality) with libjpeg-turbo; only when asked."""

from __future__ import annotations

import numpy as np
import simplejpeg
from PIL import Image

__all__ = ["reencode_jpeg"]


def reencode_jpeg(jpeg: bytes, *, quality: int | None, max_width: int | None) -> bytes:
    """Return ``jpeg`` downscaled to ``max_width`` and/or at ``quality``; the same bytes when nothing applies."""
    if quality is None and max_width is None:
        return jpeg
    height, width, _, _ = simplejpeg.decode_jpeg_header(jpeg)
    if quality is None and (max_width is None or width <= max_width):
        return jpeg
    pixels: np.ndarray = simplejpeg.decode_jpeg(jpeg, colorspace="RGB")
    if max_width is not None and width > max_width:
        new_height = max(1, round(height * max_width / width))
        image = Image.fromarray(pixels).resize((max_width, new_height), Image.Resampling.BILINEAR)
        pixels = np.ascontiguousarray(np.asarray(image))
    encoded: bytes = simplejpeg.encode_jpeg(pixels, quality=quality or 85, colorspace="RGB")
    return encoded

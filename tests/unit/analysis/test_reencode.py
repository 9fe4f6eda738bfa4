"""Frames are re-encoded for analysis only when asked; otherwise the stored bytes go out as they are."""

import numpy as np
import simplejpeg

from camops_workers.analysis.reencode import reencode_jpeg


def _jpeg(width: int, height: int) -> bytes:
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    data: bytes = simplejpeg.encode_jpeg(pixels, quality=95, colorspace="RGB")
    return data


def test_untouched_when_nothing_is_asked() -> None:
    original = _jpeg(320, 240)
    assert reencode_jpeg(original, quality=None, max_width=None) is original
    assert reencode_jpeg(original, quality=None, max_width=640) is original


def test_downscaled_to_max_width_keeping_the_aspect_ratio() -> None:
    smaller = reencode_jpeg(_jpeg(640, 480), quality=None, max_width=320)
    height, width, _, _ = simplejpeg.decode_jpeg_header(smaller)
    assert (width, height) == (320, 240)


def test_lower_quality_gives_fewer_bytes() -> None:
    original = _jpeg(320, 240)
    assert len(reencode_jpeg(original, quality=30, max_width=None)) < len(original) / 2

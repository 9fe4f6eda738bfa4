"""JPEG from YUV planes: limited range expanded, size and downscale right, bad bodies rejected."""

from __future__ import annotations

import av
import numpy as np
import pytest
import simplejpeg

from camops_workers.capture.jpeg import (
    JpegError,
    encode_frame,
    encode_frame_pillow,
    inspect_jpeg,
    scaled_size,
    thumbnail_from_jpeg,
)


def yuv_frame(width: int, height: int, y: int, fmt: str = "yuv420p") -> av.VideoFrame:
    frame = av.VideoFrame(width, height, fmt)
    for plane, value in zip(frame.planes, (y, 128, 128), strict=True):
        np.frombuffer(plane, np.uint8)[:] = value  # type: ignore[call-overload]
    return frame


@pytest.mark.parametrize(("y", "grey"), [(16, 0), (235, 255), (126, 128)])
def test_limited_range_video_becomes_full_range_jpeg(y: int, grey: int) -> None:
    data = encode_frame(yuv_frame(64, 48, y), quality=95)
    rgb = simplejpeg.decode_jpeg(data)
    assert rgb.shape == (48, 64, 3)
    assert abs(int(rgb.mean()) - grey) <= 3


def test_full_range_frames_are_not_expanded_twice() -> None:
    data = encode_frame(yuv_frame(64, 48, 16, "yuvj420p"), quality=95)
    assert abs(int(simplejpeg.decode_jpeg(data).mean()) - 16) <= 3


def test_downscale_keeps_aspect_and_even_sizes() -> None:
    assert scaled_size(1920, 1080, 640) == (640, 360)
    assert scaled_size(1920, 1080, None) == (1920, 1080)
    assert scaled_size(320, 240, 640) == (320, 240)
    info = inspect_jpeg(encode_frame(yuv_frame(1280, 720, 100), max_width=333))
    assert (info.width, info.height) == (332, 186)


def test_pillow_fallback_gives_the_same_picture() -> None:
    frame = yuv_frame(64, 48, 235)
    fast = simplejpeg.decode_jpeg(encode_frame(frame, quality=95)).astype(int)
    slow = simplejpeg.decode_jpeg(encode_frame_pillow(frame, quality=95)).astype(int)
    assert np.abs(fast - slow).mean() < 4


def test_valid_jpeg_passes_and_reports_its_size() -> None:
    data = encode_frame(yuv_frame(320, 240, 80))
    info = inspect_jpeg(data)
    assert (info.width, info.height) == (320, 240)
    assert inspect_jpeg(data + b"\x00\x00\r\n").width == 320  # padding some cameras append


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20 + b"\xff\xd9", "truncated"),
        (b"<!DOCTYPE html><html><body>" + b"login " * 40 + b"</body></html>", "HTML"),
        (b"GIF89a" + b"\x00" * 200, "not a JPEG"),
    ],
)
def test_non_jpeg_bodies_are_rejected(body: bytes, message: str) -> None:
    with pytest.raises(JpegError, match=message):
        inspect_jpeg(body)


def test_truncated_jpeg_is_rejected() -> None:
    data = encode_frame(yuv_frame(320, 240, 80))
    with pytest.raises(JpegError, match="truncated"):
        inspect_jpeg(data[: len(data) // 2])


def test_corrupt_header_is_rejected() -> None:
    data = encode_frame(yuv_frame(320, 240, 80))
    broken = b"\xff\xd8\xff\xe0" + b"\x01" * 300 + b"\xff\xd9"
    assert len(broken) < len(data)
    with pytest.raises(JpegError, match="header"):
        inspect_jpeg(broken)


@pytest.mark.parametrize(("y", "u", "v"), [(41, 240, 110), (145, 54, 34), (81, 90, 240), (235, 128, 128)])
def test_limited_range_colours_match_the_rgb_path(y: int, u: int, v: int) -> None:
    """Blue, green, red and white (BT.601 limited range) come out as the RGB conversion shows them."""
    frame = av.VideoFrame(64, 48, "yuv420p")
    for plane, value in zip(frame.planes, (y, u, v), strict=True):
        np.frombuffer(plane, np.uint8)[:] = value  # type: ignore[call-overload]
    ours = simplejpeg.decode_jpeg(encode_frame(frame, quality=95)).reshape(-1, 3).mean(axis=0)
    rgb = frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0)
    assert np.abs(ours - rgb).max() <= 4, (ours, rgb)


def test_thumbnail_from_a_jpeg_is_320_wide_and_the_same_picture() -> None:
    big = encode_frame(yuv_frame(1920, 1080, 235), quality=90)
    thumb = thumbnail_from_jpeg(big)
    info = inspect_jpeg(thumb)
    assert (info.width, info.height) == (320, 180)
    assert abs(int(simplejpeg.decode_jpeg(thumb).mean()) - 255) <= 3
    assert len(thumb) < len(big)
    small = encode_frame(yuv_frame(160, 120, 100))
    assert inspect_jpeg(thumbnail_from_jpeg(small)).width == 160  # never enlarged


def test_one_decode_gives_the_thumbnail_and_the_same_luma_picture_health_reads() -> None:
    from camops_workers.capture.jpeg import thumbnails_from_jpeg
    from camops_workers.picture import thumbnail_from_jpeg as luma_from_jpeg
    from tests.servers.pictures import Scene

    y = Scene(1920, 1080).luma(1.0)
    u = np.full((540, 960), 110, np.uint8)
    v = np.full((540, 960), 150, np.uint8)
    data = bytes(simplejpeg.encode_jpeg_yuv_planes(y, u, v, quality=85))
    thumb, picture = thumbnails_from_jpeg(data, judged=True)
    info = inspect_jpeg(thumb)
    assert (info.width, info.height) == (320, 180)
    assert picture is not None
    alone = luma_from_jpeg(data)  # the JPEG's own Y plane, decoded on its own
    assert picture.luma.shape == alone.luma.shape
    assert float(np.abs(picture.luma - alone.luma).mean()) <= 1.0  # from RGB: the same Y within rounding
    assert abs(picture.edge - alone.edge) <= 0.05
    assert thumbnails_from_jpeg(data, judged=False)[1] is None

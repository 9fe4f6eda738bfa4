"""The demo's synthetic media: a real H.264 clip (PyAV) and a real HTTP JPEG snapshot camera."""

import base64
import http.client
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest
from PIL import Image

from camops_operator.local.media import ClipSpec, ensure_clip, render_jpeg
from camops_operator.local.snapshot_server import SnapshotCamera


def _jpeg_size(data: bytes) -> tuple[int, int]:
    assert data[:3] == b"\xff\xd8\xff"
    assert data.endswith(b"\xff\xd9")
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        image.load()
        return image.size


SMALL = ClipSpec(width=160, height=96, fps=10, seconds=2, gop=5)


def test_the_clip_is_h264_with_regular_keyframes(tmp_path: Path) -> None:
    path = ensure_clip(tmp_path, SMALL)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (160, 96)
        packets = [p for p in container.demux(stream) if p.size]
    assert len(packets) == SMALL.frames
    keyframes = [i for i, p in enumerate(packets) if p.is_keyframe]
    assert keyframes == list(range(0, SMALL.frames, SMALL.gop))


def test_the_clip_is_cached_and_not_regenerated(tmp_path: Path) -> None:
    first = ensure_clip(tmp_path, SMALL)
    stamp = first.stat().st_mtime_ns
    assert ensure_clip(tmp_path, SMALL) == first
    assert first.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no partial files left behind


def test_the_picture_changes_with_time() -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    one, two = render_jpeg(now, label="x"), render_jpeg(now + timedelta(seconds=1), label="x")
    assert _jpeg_size(one) == (640, 360)
    assert one != two


@pytest.fixture
def camera() -> Iterator[SnapshotCamera]:
    with SnapshotCamera(credentials=("viewer", "pass-word")) as cam:
        yield cam


def _get(conn: http.client.HTTPConnection, auth: str | None) -> http.client.HTTPResponse:
    headers = {"Authorization": f"Basic {base64.b64encode(auth.encode()).decode()}"} if auth else {}
    conn.request("GET", "/snapshot.jpg", headers=headers)
    return conn.getresponse()


def test_the_http_camera_serves_jpegs_over_one_keep_alive_connection(camera: SnapshotCamera) -> None:
    assert camera.url == f"http://127.0.0.1:{camera.port}/snapshot.jpg"
    conn = http.client.HTTPConnection("127.0.0.1", camera.port, timeout=5)
    try:
        bodies = []
        for _ in range(2):
            response = _get(conn, "viewer:pass-word")
            assert response.status == 200
            assert response.getheader("Content-Type") == "image/jpeg"
            bodies.append(response.read())
        assert _jpeg_size(bodies[0]) == (640, 360)
        assert camera.requests == 2
    finally:
        conn.close()


def test_the_http_camera_answers_a_login_page_without_credentials(camera: SnapshotCamera) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", camera.port, timeout=5)
    try:
        for auth in (None, "viewer:wrong"):
            response = _get(conn, auth)
            assert response.status == 401
            assert response.read().startswith(b"<!DOCTYPE html>")
        assert camera.requests == 0
    finally:
        conn.close()

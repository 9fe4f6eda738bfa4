"""H.265 cameras (GStreamer x265enc ! rtph265pay): keyframe-gated JPEG snapshots, MP4 segments remuxed
with the hvc1 tag (what Safari and QuickTime play), codec, size and measured frame rate in the status."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import simplejpeg

from tests.integration.capture.helpers import RunningWorker, contract
from tests.servers.rtsp import RtspServer


def test_an_h265_camera_gives_jpegs_hvc1_segments_and_its_stream_facts(
    rtsp_server: Callable[..., RtspServer], tmp_path: Path
) -> None:
    server = rtsp_server(gop=10, fps=10, width=320, height=240)
    url = server.url("/live265")
    config = contract(
        tmp_path,
        url,
        snapshots={"interval_s": 1.0},
        recording={"enabled": True, "segment_duration_s": 2.0},
        source={"url": url, "session": "persistent", "connect_timeout_s": 10.0, "stall_timeout_s": 10.0},
    )
    with RunningWorker(config) as worker:
        status = worker.wait_for(
            lambda s: (
                s.capture.segments >= 2
                and s.capture.snapshots >= 3
                and s.capture.stream is not None
                and s.capture.stream.measured_fps is not None
            ),
            60.0,
        )
        worker.wait_for(lambda s: s.queue.depth == 0, 20.0)
    info = status.capture.stream
    assert info is not None
    print(f"stream: {info}; decode errors {status.capture.decode_errors}")
    assert (info.codec, info.width, info.height, info.declared_fps) == ("hevc", 320, 240, 10.0)
    assert info.measured_fps is not None
    assert 8.0 <= info.measured_fps <= 12.0
    store = tmp_path / "store"
    jpegs = [p for p in store.rglob("*.jpg") if not p.name.startswith("latest")]
    assert len(jpegs) >= 3
    for path in jpegs:
        height, width, _, _ = simplejpeg.decode_jpeg_header(path.read_bytes())
        assert (width, height) == (320, 240)
    segments = sorted(store.rglob("*.mp4"))
    assert len(segments) >= 2
    for path in segments:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "hevc"
            assert stream.codec_context.codec_tag == "hvc1"
            frames = sum(1 for _ in container.decode(stream))
        assert frames >= 15  # about 2 s at 10 fps, every frame decodable from the segment alone

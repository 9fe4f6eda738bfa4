"""The capture worker against a real GStreamer RTSP camera, through the real queue into a local store."""

from __future__ import annotations

import itertools
import logging
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest
import simplejpeg

from camops_workers.capture.sampler import SessionKind
from camops_workers.capture.worker import CaptureWorker
from camops_workers.items import Capture, ItemKind
from camops_workers.storage.keys import key_time
from tests.integration.capture.helpers import RunningWorker, contract, drain, free_port, stored
from tests.servers.rtsp import RtspServer

pytestmark = pytest.mark.slow


def _duration(path: Path) -> tuple[float, set[tuple[int, int]]]:
    with av.open(str(path)) as container:
        stream: Any = container.streams.video[0]
        sizes = {(f.width, f.height) for f in container.decode(stream)}
        return float(stream.duration * stream.time_base), sizes


def test_snapshots_at_the_interval_and_segments_of_the_set_duration(
    tmp_path: Path, rtsp_server: Callable[..., RtspServer]
) -> None:
    server = rtsp_server(width=640, height=360, gop=10)
    config = contract(tmp_path, server.url("/live"), recording={"enabled": True, "segment_duration_s": 2.0})
    with RunningWorker(config) as worker:
        worker.wait_for(lambda s: s.capture.snapshots >= 1, timeout=15)
        time.sleep(5.0)
        assert worker.stop() == 0
    drain(config)

    jpegs = stored(config, ".jpg")
    assert 8 <= len(jpegs) <= 13
    for path in jpegs:
        assert simplejpeg.decode_jpeg_header(path.read_bytes())[:2] == (360, 640)
    times = [key_time("/".join(p.parts[-3:])) for p in jpegs]
    assert all(t is not None for t in times)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]  # type: ignore[operator]
    assert statistics.median(gaps) == pytest.approx(0.5, abs=0.15)
    latest = Path(str(config.storage.directory)) / "cam1" / "latest.jpg"
    thumb = latest.with_name("latest.thumb.jpg")
    assert simplejpeg.decode_jpeg_header(thumb.read_bytes())[:2] == (180, 320)  # from the same decoded picture
    assert thumb.stat().st_size < latest.stat().st_size / 2

    segments = stored(config, ".mp4")
    assert len(segments) >= 2
    final = worker.last
    assert final is not None  # the last status counts the segment closed by the stop, as a summary would
    assert (final.capture.segments, final.capture.snapshots) == (len(segments), len(jpegs))
    durations = [_duration(p) for p in segments]
    for duration, sizes in durations[:-1]:  # the last one was closed early by the stop
        assert duration == pytest.approx(2.0, abs=0.15)
        assert sizes == {(640, 360)}
    assert 0.4 <= durations[-1][0] <= 2.1


def test_server_restart_reconnects_with_backoff_and_resumes(
    tmp_path: Path, rtsp_server: Callable[..., RtspServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="camops")
    server = rtsp_server(gop=10)
    config = contract(tmp_path, server.url("/live"))
    with RunningWorker(config) as worker:
        worker.wait_for(lambda s: s.capture.snapshots >= 2, timeout=15)
        server.stop()
        down = worker.wait_for(lambda s: s.capture.source_state == "backoff", timeout=10)
        time.sleep(1.5)
        server.start()
        resumed = worker.wait_for(
            lambda s: s.capture.source_state == "connected" and s.capture.snapshots >= down.capture.snapshots + 2,
            timeout=20,
        )
        assert resumed.capture.reconnects >= 1
        assert worker.stop() == 0
    failures = [r for r in caplog.records if "source failed" in r.getMessage()]
    assert 1 <= len(failures) <= 4
    connected = [r for r in caplog.records if "source connected" in r.getMessage()]
    assert len(connected) == 2


class ListSink:
    def __init__(self) -> None:
        self.items: list[Capture] = []

    def put(self, capture: Capture) -> str:
        self.items.append(capture)
        return str(len(self.items))


class StateListener:
    def __init__(self) -> None:
        self.states: list[tuple[str, str]] = []

    def captured(self, capture: Capture) -> None:
        del capture

    def state_changed(self, camera: str, state: str, detail: str) -> None:
        self.states.append((state, detail))


def test_unreachable_camera_backs_off_by_its_outage_with_bounded_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG, logger="camops")
    monkeypatch.setenv("CAM_USER", "operator7")
    monkeypatch.setenv("CAM_PASS", "pa55-w0rd!")
    config = contract(
        tmp_path,
        f"rtsp://127.0.0.1:{free_port()}/live",
        source={
            "url": f"rtsp://127.0.0.1:{free_port()}/live",
            "username": {"env": "CAM_USER"},
            "password": {"env": "CAM_PASS"},
            "connect_timeout_s": 2.0,
        },
    )
    listener = StateListener()
    worker = CaptureWorker(config, ListSink(), [listener], rand=lambda: 0.5)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    started = time.monotonic()
    thread.start()
    deadline = started + 20
    while worker.state().source_errors < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    # Away for about a second: no wait is longer than 5 % of the outage, so the base 0.25 s each time
    # (a camera that comes back is seen at once); the fifth attempt came after 4 x 0.25 s.
    assert elapsed >= 0.95

    failures = [r.getMessage() for r in caplog.records if "source failed" in r.getMessage()]
    retries = [float(m.split("retry_in=")[1].split("s")[0]) for m in failures]
    assert retries == [0.25, 0.25, 0.25]  # attempts 3 and 5 are not logged: same error, not a power of two
    assert worker.state().source_errors == 5
    assert worker.state().snapshots == 0
    text = caplog.text + str(worker.state()) + str(listener.states)
    assert "pa55-w0rd!" not in text
    assert "operator7" not in text
    assert [s for s, _ in listener.states].count("backoff") == 3
    assert listener.states[-1][0] == "stopped"


def test_resolution_change_mid_stream_starts_a_new_segment(
    tmp_path: Path, rtsp_server: Callable[..., RtspServer]
) -> None:
    server = rtsp_server(gop=10, width=320, height=240, change_after=2.0, change_size="480x360")
    config = contract(tmp_path, server.url("/change"), recording={"enabled": True, "segment_duration_s": 30.0})
    with RunningWorker(config) as worker:
        worker.wait_for(lambda s: s.capture.snapshots >= 1, timeout=15)
        time.sleep(4.0)
        final = worker.last
        assert worker.stop() == 0
    assert final is not None
    assert final.capture.decode_errors == 0
    drain(config)
    segments = stored(config, ".mp4")
    assert len(segments) == 2
    (first_len, first_sizes), (_, second_sizes) = (_duration(p) for p in segments)
    assert first_sizes == {(320, 240)}
    assert second_sizes == {(480, 360)}
    assert first_len >= 1.0
    sizes = {simplejpeg.decode_jpeg_header(p.read_bytes())[:2] for p in stored(config, ".jpg")}
    assert sizes == {(240, 320), (360, 480)}


def test_long_interval_opens_a_session_per_snapshot(tmp_path: Path, rtsp_server: Callable[..., RtspServer]) -> None:
    server = rtsp_server(gop=10)
    config = contract(tmp_path, server.url("/live"), source={"url": server.url("/live"), "session": "per_snapshot"})
    sink = ListSink()
    worker = CaptureWorker(config, sink)
    assert worker.session_kind() is SessionKind.PER_SNAPSHOT
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 20
    while len(sink.items) < 6 and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    thread.join(10)
    snapshots = [i for i in sink.items if i.kind is ItemKind.SNAPSHOT]
    thumbs = [i for i in sink.items if i.kind is ItemKind.THUMBNAIL]
    assert len(snapshots) >= 3
    assert len(thumbs) >= len(snapshots) - 1
    assert {t.key for t in thumbs} == {"cam1/latest.thumb.jpg"}
    for item in snapshots:
        assert item.data is not None
        assert simplejpeg.decode_jpeg_header(item.data)[:2] == (240, 320)
    assert worker.state().source_errors == 0

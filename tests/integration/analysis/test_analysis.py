"""The analysis hand-off against a real HTTP inference stand-in, the real durable queue and a folder store."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from prometheus_client import REGISTRY

from camops_workers.analysis.listener import AnalysisListener
from camops_workers.contract import AnalysisConfig, CredentialRef, SourceConfig, StorageConfig, WorkerConfig
from camops_workers.listeners import build_listeners, close_listeners
from camops_workers.queue.durable import DurableQueue
from camops_workers.queue.uploader import UploaderPool
from camops_workers.storage.local import LocalStore
from tests.integration.analysis.support import jpeg, snapshot, wait_until
from tests.servers.inference import InferenceServer


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[DurableQueue]:
    q = DurableQueue(tmp_path / "queue")
    try:
        yield q
    finally:
        q.close()


def _listener(server: InferenceServer, queue: DurableQueue | None, **analysis: object) -> AnalysisListener:
    config = AnalysisConfig.model_validate({"endpoint": server.url, **analysis})
    return AnalysisListener(camera="door", namespace="site-a", config=config, sink=queue)


def test_answers_are_stored_beside_the_snapshots_they_describe(
    tmp_path: Path, queue: DurableQueue, inference_server: InferenceServer
) -> None:
    store = LocalStore(tmp_path / "bucket")
    pool = UploaderPool(queue, store, workers=2)
    pool.start()
    config = WorkerConfig(
        camera="door",
        namespace="site-a",
        source=SourceConfig(url="rtsp://192.0.2.1/stream"),
        storage=StorageConfig(kind="local", directory=str(tmp_path / "bucket"), prefix="site-a"),
        analysis=AnalysisConfig(endpoint=inference_server.url, every_nth_snapshot=2),
    )
    listeners = build_listeners(config, queue)
    try:
        snapshots = [snapshot("door", i, jpeg(seed=i), prefix="site-a") for i in range(8)]
        for capture in snapshots:
            queue.put(capture)  # what the capture worker does before telling its listeners
            for listener in listeners:
                listener.captured(capture)
        analysed = snapshots[::2]
        assert wait_until(lambda: all((tmp_path / "bucket" / f"{c.key}.json").exists() for c in analysed))
        assert wait_until(lambda: queue.stats().depth == 0)
    finally:
        close_listeners(listeners)
        pool.stop()
    for capture in snapshots:
        beside = tmp_path / "bucket" / f"{capture.key}.json"
        assert (tmp_path / "bucket" / capture.key).read_bytes() == capture.data
        assert beside.exists() == (capture in analysed), "one in every_nth_snapshot=2 is analysed"
    for capture in analysed:
        answer = json.loads((tmp_path / "bucket" / f"{capture.key}.json").read_text())
        assert answer["key"] == capture.key
        assert answer["camera"] == "door"
        assert answer["capturedAt"] == capture.captured_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        assert answer["bytes"] == len(capture.data or b"")
        assert answer["detections"][0]["label"] == "person"
    latest = json.loads((tmp_path / "bucket" / "site-a/door/latest.jpg.json").read_text())
    assert latest["key"] in {c.key for c in analysed}
    assert all(f.is_jpeg and f.headers["x-camops-namespace"] == "site-a" for f in inference_server.frames)
    assert len(inference_server.frames) == 4


def test_a_hanging_endpoint_never_blocks_capture(inference_server: InferenceServer) -> None:
    """Every request hangs: capture goes on, two requests stay in flight, the buffer keeps the newest, the rest drop."""
    inference_server.hang_every = 1
    labels = {"camera": "door", "reason": "buffer_full"}
    dropped_before = REGISTRY.get_sample_value("camops_analysis_dropped_frames_total", labels) or 0.0
    listener = _listener(inference_server, None, max_in_flight=2, buffer_size=5, timeout_s=30)
    frame = jpeg()
    call_times = []
    try:
        for i in range(60):
            started = time.perf_counter()
            listener.captured(snapshot("door", i, frame))
            call_times.append(time.perf_counter() - started)
            if i < 2:  # both senders take a frame and hang; everything after stays with the buffer
                assert wait_until(lambda: inference_server.concurrent == len(call_times))
        stats = listener.stats()
        in_flight_gauge = REGISTRY.get_sample_value("camops_analysis_in_flight", {"camera": "door"})
    finally:
        inference_server.stop()
        listener.close()
    assert in_flight_gauge == 2
    dropped_after = REGISTRY.get_sample_value("camops_analysis_dropped_frames_total", labels) or 0.0
    assert dropped_after - dropped_before == 53
    assert stats.in_flight == 2
    assert stats.buffered == 5
    assert stats.dropped == {"buffer_full": 53}
    assert stats.offered == stats.in_flight + stats.buffered + stats.dropped["buffer_full"]
    # a call that waited for the endpoint would take 30 s; these only touch an in-memory buffer
    assert max(call_times) < 1.0


def test_a_slow_endpoint_keeps_memory_flat_and_counts_drops(inference_server: InferenceServer) -> None:
    """An endpoint far slower than the frame rate: bounded memory, every frame accounted for."""
    inference_server.delay_s = 0.05
    listener = _listener(inference_server, None, max_in_flight=2, buffer_size=30)
    base = jpeg(320, 240, quality=95)
    process = psutil.Process()
    frames = 3000
    try:
        for i in range(100):  # warm up allocator, threads and connections
            listener.captured(snapshot("door", i, bytes(bytearray(base))))
        rss_before = process.memory_info().rss
        for i in range(100, 100 + frames):
            listener.captured(snapshot("door", i, bytes(bytearray(base))))  # a fresh buffer per frame
        rss_after = process.memory_info().rss
        stats = listener.stats()
    finally:
        listener.close()
    offered_mb = frames * len(base) / 2**20
    assert offered_mb > 100
    assert (rss_after - rss_before) / 2**20 < 30, "frames beyond the buffer must be released, not kept"
    assert stats.dropped["buffer_full"] > frames // 2
    assert stats.max_in_flight_seen <= 2


def test_breaker_opens_while_the_endpoint_is_down_and_closes_when_it_returns(
    inference_server: InferenceServer, queue: DurableQueue
) -> None:
    listener = _listener(inference_server, queue, breaker_failures=3, breaker_open_s=1.0, breaker_max_open_s=1.0)
    frame = jpeg()
    index = iter(range(10_000))
    try:
        inference_server.stop()

        def feed_until(condition: object) -> bool:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                listener.captured(snapshot("door", next(index), frame))
                time.sleep(0.02)
                if callable(condition) and condition():
                    return True
            return False

        assert feed_until(lambda: listener.breaker_state == "open")
        assert listener.reachable is False
        assert feed_until(lambda: listener.stats().dropped.get("circuit_open", 0) >= 5)
        # three failures opened it; while open, frames are dropped without sending anything
        assert listener.stats().requests == {"connection_error": 3}
        assert "127.0.0.1" in (listener.stats().last_error or "")

        inference_server.start()
        assert feed_until(lambda: listener.breaker_state == "closed" and listener.stats().stored >= 3)
        assert listener.reachable is True
    finally:
        listener.close()
    stats = listener.stats()
    assert stats.requests["ok"] >= 3
    assert queue.stats().depth == stats.stored


def test_errors_timeouts_and_tokens(tmp_path: Path, inference_server: InferenceServer) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("tok-123456789\n")
    inference_server.fail_every = 2
    inference_server.hang_every = 5
    listener = AnalysisListener(
        camera="door",
        namespace="site-a",
        config=AnalysisConfig(
            endpoint=f"{inference_server.url}?token=query-secret-987",
            timeout_s=0.5,
            max_in_flight=1,
            buffer_size=100,
            breaker_failures=100,
            bearer_token=CredentialRef(file=str(token_file)),
            headers={"X-Model": "people-v1"},
        ),
        sink=None,
    )
    try:
        for i in range(10):
            listener.captured(snapshot("door", i, jpeg()))
        assert wait_until(lambda: sum(listener.stats().requests.values()) == 10, timeout=20)
        stats = listener.stats()
    finally:
        inference_server.stop()
        listener.close()
    # requests 2, 4, 6, 8 answer 500; 5 and 10 hang past the timeout
    assert stats.requests == {"ok": 4, "http_error": 4, "timeout": 2}
    assert stats.dropped == {"failed": 6}
    assert {f.headers["authorization"] for f in inference_server.frames} == {"Bearer tok-123456789"}
    assert {f.headers["x-model"] for f in inference_server.frames} == {"people-v1"}
    assert "query-secret-987" not in (stats.last_error or "")
    assert "tok-123456789" not in (stats.last_error or "")


def test_a_missing_token_file_is_said_once(
    tmp_path: Path, inference_server: InferenceServer, caplog: pytest.LogCaptureFixture
) -> None:
    config = AnalysisConfig(
        endpoint=inference_server.url, bearer_token=CredentialRef(file=str(tmp_path / "absent" / "token"))
    )
    listener = AnalysisListener(camera="door", namespace="site-a", config=config, sink=None)
    try:
        for i in range(3):
            listener.captured(snapshot("door", i, jpeg()))
        assert wait_until(lambda: listener.stats().requests.get("ok", 0) == 3)
    finally:
        listener.close()
    warnings = [r for r in caplog.records if "analysis_token_missing" in r.getMessage()]
    assert len(warnings) == 1
    assert all("authorization" not in f.headers for f in inference_server.frames)

"""End to end: the real capture worker (file:// clip, keyframe-gated snapshots, durable queue, uploader)
hands its snapshots to the inference stand-in and publishes CloudEvents to the webhook receiver."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from camops_operator.local.media import ClipSpec, ensure_clip
from camops_workers.contract import (
    AnalysisConfig,
    EventsConfig,
    QueueConfig,
    SnapshotConfig,
    SourceConfig,
    StorageConfig,
    WebhookSinkConfig,
    WorkerConfig,
)
from camops_workers.runtime import run_worker
from tests.integration.analysis.support import wait_until
from tests.servers.inference import InferenceServer
from tests.servers.webhook import WebhookReceiver

CLIP = ClipSpec(width=320, height=180, fps=10, seconds=4, gop=5)


def test_a_running_worker_stores_answers_beside_its_snapshots_and_publishes_events(
    tmp_path: Path, inference_server: InferenceServer, webhook_receiver: WebhookReceiver
) -> None:
    clip = ensure_clip(tmp_path / "media", CLIP)
    bucket = tmp_path / "bucket"
    config = WorkerConfig(
        camera="dock",
        namespace="site-a",
        source=SourceConfig(url=f"file://{clip}"),
        snapshots=SnapshotConfig(interval_s=0.5),
        storage=StorageConfig(kind="local", directory=str(bucket)),
        queue=QueueConfig(directory=str(tmp_path / "queue")),
        http_port=0,
        analysis=AnalysisConfig(endpoint=inference_server.url, every_nth_snapshot=2),
        events=EventsConfig(webhook=WebhookSinkConfig(url=webhook_receiver.url)),
    )
    stop = threading.Event()
    codes: list[int] = []
    worker = threading.Thread(target=lambda: codes.append(run_worker(config, stop, serve_http=False)), daemon=True)
    worker.start()
    try:
        assert wait_until(lambda: len(list(bucket.rglob("*.jpg.json"))) >= 4, timeout=60), "no answers stored"
    finally:
        stop.set()
        worker.join(30)
    assert codes == [0]

    answers = [p for p in bucket.rglob("*.jpg.json") if p.name != "latest.jpg.json"]
    assert len(answers) >= 3
    for answer_path in answers:
        snapshot_path = answer_path.with_name(answer_path.name.removesuffix(".json"))
        assert snapshot_path.exists(), "each answer sits beside the snapshot it describes"
        answer = json.loads(answer_path.read_text())
        assert answer["key"] == snapshot_path.relative_to(bucket).as_posix()
        assert answer["camera"] == "dock"
    snapshots = [p for p in bucket.rglob("*.jpg") if not p.name.startswith("latest.")]  # latest.jpg, latest.thumb.jpg
    assert len(answers) <= len(snapshots) // 2 + 1, "one snapshot in every_nth_snapshot=2 is analysed"
    assert all(frame.is_jpeg for frame in inference_server.frames)

    events = webhook_receiver.wait_for(len(snapshots) + len(answers))
    assert webhook_receiver.invalid == []
    types = [e.attributes["type"] for e in events]
    assert "io.camops.camera.state" in types
    assert types.count("io.camops.snapshot.stored") >= len(snapshots)
    assert types.count("io.camops.analysis.result") >= len(answers)
    sequences = [int(e.attributes["sequence"]) for e in events]
    assert sequences == sorted(sequences)
    stored_keys = {e.data["key"] for e in events if e.attributes["type"] == "io.camops.snapshot.stored"}
    assert {p.relative_to(bucket).as_posix() for p in snapshots} <= stored_keys

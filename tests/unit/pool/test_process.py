"""The multi-camera process's pure parts: readiness by share, ordinals, per-camera queue, one exposition."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from camops_workers.contract import ProcessConfig, WorkerConfig, load_process_config
from camops_workers.process import CameraRegistries, camera_queue_stats, ordinal_of, process_readiness
from camops_workers.queue.durable import QueueStats


def test_readiness_is_the_share_of_healthy_cameras() -> None:
    assert process_readiness(0, 0) == (True, "no cameras assigned")
    assert process_readiness(2, 3)[0] is True
    assert process_readiness(1, 3)[0] is False
    assert process_readiness(1, 2) == (True, "1 of 2 cameras healthy")


def test_ordinal_from_the_pod_name() -> None:
    assert ordinal_of("lobby-pool-12") == 12
    with pytest.raises(ValueError, match="StatefulSet"):
        ordinal_of("lobby-pool")


def test_a_camera_sees_its_own_share_of_the_queue() -> None:
    stats = QueueStats(depth=10, bytes=1000, oldest_age_s=3.0, failed=1, dropped=2, expired=0, uploaded=50)
    mine = camera_queue_stats(stats, {"a": (4, 400), "b": (6, 600)}, "a")
    assert (mine.depth, mine.bytes, mine.dropped) == (4, 400, 2)
    assert camera_queue_stats(stats, {}, "c").depth == 0


def test_one_exposition_with_a_camera_label_and_removal() -> None:
    merged = CameraRegistries()
    for name, value in (("a", 3), ("b", 5)):
        registry = CollectorRegistry()
        Counter("camops_capture_snapshots", "x", ["camera"], registry=registry).labels(name).inc(value)
        merged.add(name, registry)
    exposed = CollectorRegistry()
    exposed.register(merged)
    text = generate_latest(exposed).decode()
    assert text.count("# TYPE camops_capture_snapshots_total counter") == 1
    assert 'camops_capture_snapshots_total{camera="a"} 3.0' in text
    assert 'camops_capture_snapshots_total{camera="b"} 5.0' in text
    merged.remove("b")
    assert 'camera="b"' not in generate_latest(exposed).decode()


def test_both_contract_shapes_load_as_a_list(tmp_path: object) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    single = WorkerConfig.model_validate({"camera": "gate", "source": {"url": "rtsp://10.0.0.7/s"}})
    (root / "one.json").write_text(single.model_dump_json())
    (root / "many.json").write_text(
        ProcessConfig(cameras=[single, single.model_copy(update={"camera": "door"})]).model_dump_json()
    )
    assert [c.camera for c in load_process_config(root / "one.json").cameras] == ["gate"]
    assert [c.camera for c in load_process_config(root / "many.json").cameras] == ["gate", "door"]

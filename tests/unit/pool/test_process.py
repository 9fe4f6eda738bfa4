"""The multi-camera process's pure parts: readiness by share, ordinals, per-camera queue, one exposition."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from camops_workers.contract import ProcessConfig, WorkerConfig, load_process_config
from camops_workers.process import CameraRegistries, ordinal_of, process_readiness
from camops_workers.queue.durable import EMPTY_STATS, DurableQueue, QueueLimits
from tests.unit.queue.captures import capture


def test_readiness_is_the_share_of_healthy_cameras() -> None:
    assert process_readiness(0, 0) == (True, "no cameras assigned")
    assert process_readiness(2, 3)[0] is True
    assert process_readiness(1, 3)[0] is False
    assert process_readiness(1, 2) == (True, "1 of 2 cameras healthy")


def test_ordinal_from_the_pod_name() -> None:
    assert ordinal_of("lobby-pool-12") == 12
    with pytest.raises(ValueError, match="StatefulSet"):
        ordinal_of("lobby-pool")


def test_a_camera_sees_its_own_share_of_the_queue(tmp_path: Path) -> None:
    """In a pool, a camera's status counts its own items, drops and uploads, not the whole process's."""
    queue = DurableQueue(tmp_path / "q", QueueLimits(max_bytes=10**9, max_items=3, max_age_s=86400.0))
    try:
        for n in range(4):  # a: 4 puts into 3 slots -> its oldest dropped (dropOldest)
            queue.put(capture("a", n))
        mine = queue.stats_by_camera(now=2e9)
        assert (mine["a"].depth, mine["a"].dropped) == (3, 1)
        assert "b" not in mine
        assert queue.camera_stats("a", now=2e9) == mine["a"]
        assert queue.camera_stats("b") == EMPTY_STATS
    finally:
        queue.close()


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

"""The queue exports its bounds beside its fill, so an alert can say "near its limit" without knowing the spec."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY

from camops_workers.queue.durable import DurableQueue, QueueLimits
from tests.unit.queue.captures import capture


def test_bounds_are_exported_beside_depth_and_bytes(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "queue", QueueLimits(max_bytes=100_000, max_items=50, max_age_s=0.0))
    try:
        for i in range(4):
            queue.put(capture("gate", i, 3000))
        labels = {"queue": queue.name}
        assert REGISTRY.get_sample_value("camops_queue_max_bytes", labels) == 100_000
        assert REGISTRY.get_sample_value("camops_queue_max_items", labels) == 50
        filled = REGISTRY.get_sample_value("camops_queue_bytes", labels)
        assert filled is not None
        assert 0.1 < filled / 100_000 < 0.2  # four items of 3000 bytes: what an alert divides
    finally:
        queue.close()

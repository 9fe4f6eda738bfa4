"""The uploader pool into a local folder (local mode): dated folders, latest.jpg, metrics."""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, generate_latest

from camops_workers.items import ItemKind
from camops_workers.queue.breaker import CircuitBreaker
from camops_workers.queue.durable import DurableQueue, QueueLimits
from camops_workers.queue.uploader import UploaderPool
from camops_workers.storage.base import PermanentStorageError, TransientStorageError
from camops_workers.storage.keys import thumbnail_key
from camops_workers.storage.local import LocalStore
from tests.unit.queue.captures import T0, capture


def test_drain_into_folders_with_latest_and_metrics(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "queue")
    store = LocalStore(tmp_path / "data")
    items = [capture("porch", i, 3000, latest=True) for i in range(12)]
    for item in items:
        queue.put(item)
    stats = UploaderPool(queue, store, workers=3, idle_s=0.02).drain(max_seconds=30)
    assert (stats.depth, stats.uploaded) == (0, 12)
    for item in items:
        assert item.data is not None
        assert (store.root / item.key).read_bytes() == item.data  # real dated folders
    newest = items[-1].data
    assert newest is not None
    assert hashlib.sha256((store.root / "q/porch/latest.jpg").read_bytes()).digest() == hashlib.sha256(newest).digest()
    text = generate_latest(REGISTRY).decode()
    for family in (
        "camops_queue_depth",
        "camops_queue_bytes",
        "camops_queue_oldest_age_seconds",
        "camops_uploads_total",
        "camops_upload_seconds_bucket",
        "camops_upload_bytes_total",
        "camops_storage_breaker_state",
    ):
        assert family in text
    assert f'camops_queue_depth{{queue="{queue.name}"}} 0.0' in text
    ok = REGISTRY.get_sample_value("camops_uploads_total", {"camera": "porch", "result": "ok", "reason": "ok"})
    assert ok is not None
    assert ok >= 12
    queue.close()


def test_store_refusing_everything_parks_items_once(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "queue")
    for i in range(3):
        queue.put(capture("shed", i))
    store = LocalStore(tmp_path / "absent", create=False)  # missing and not creatable: permanent
    pool = UploaderPool(queue, store, workers=2, idle_s=0.02)
    stats = pool.drain(max_seconds=10)
    assert (stats.depth, stats.failed, stats.pending) == (3, 3, 0)
    assert pool.last_error is not None
    assert "does not exist" in pool.last_error
    assert [attempts for _, _, attempts, _ in queue.failed_items()] == [1, 1, 1]
    with pytest.raises(PermanentStorageError, match="not allowed"):
        store.ensure_bucket()
    queue.close()


def test_pool_expires_items_past_max_age_when_it_starts(tmp_path: Path) -> None:
    keep_all = QueueLimits(10**9, 10**6, 90 * 86400.0, "dropOldest", min_free_bytes=0)
    queue = DurableQueue(tmp_path / "queue", keep_all)
    queue.put(capture("gate", 0, 100, when=T0 - timedelta(days=30)))
    queue.put(capture("gate", 1, 100))
    queue.close()
    week = DurableQueue(tmp_path / "queue", replace(keep_all, max_age_s=7 * 86400.0))
    stats = UploaderPool(week, LocalStore(tmp_path / "data"), workers=1, idle_s=0.02).drain(max_seconds=10)
    assert (stats.depth, stats.uploaded, stats.expired) == (0, 1, 1)
    assert [o.key for o in LocalStore(tmp_path / "data").list_objects("")] == [capture("gate", 1).key]
    week.close()


class FlakyFolder(LocalStore):
    """A folder store that answers the first uploads with a given storage error (a stand-in for a sick S3)."""

    def __init__(self, root: Path, errors: list[Exception]) -> None:
        super().__init__(root)
        self.errors = errors

    def put_file(self, key: str, path: Path, content_type: str, metadata: dict[str, str]) -> None:
        if self.errors:
            raise self.errors.pop(0)
        super().put_file(key, path, content_type, metadata)


@pytest.mark.parametrize(
    "error",
    [
        TransientStorageError("connection refused", reason="connection"),
        PermanentStorageError("NoSuchBucket: gone", reason="NoSuchBucket"),
        RuntimeError("a bug in a store"),
    ],
)
def test_every_outcome_of_a_probe_lets_the_breaker_move_on(tmp_path: Path, error: Exception) -> None:
    """Open the breaker with transient errors, then answer its half-open probe with ``error``: never stuck."""
    queue = DurableQueue(tmp_path / "queue")
    for i in range(4):
        queue.put(capture("yard", i, 100))
    opening = [TransientStorageError("connection refused", reason="connection") for _ in range(2)]
    store = FlakyFolder(tmp_path / "data", [*opening, error])
    breaker = CircuitBreaker(failure_threshold=2, base_open_s=0.05, max_open_s=0.1)
    pool = UploaderPool(queue, store, workers=2, breaker=breaker, idle_s=0.02, retry_base_s=0.01, retry_cap_s=0.05)
    stats = pool.drain(max_seconds=20)
    assert (stats.depth, stats.uploaded) == (0, 4)
    assert str(pool.breaker_state) == "closed"
    queue.close()


def test_an_older_thumbnail_never_replaces_a_newer_one(tmp_path: Path) -> None:
    """latest.thumb.jpg (an overwritten key) keeps the newest picture even when an older item uploads last."""
    queue = DurableQueue(tmp_path / "queue")
    store = LocalStore(tmp_path / "data")
    older, newer = (
        replace(capture("porch", i), kind=ItemKind.THUMBNAIL, key=thumbnail_key("q", "porch")) for i in (0, 1)
    )
    queue.put(older)
    held = queue.claim("another-uploader", 0.3)  # e.g. a slow uploader holding the older one
    assert held is not None
    queue.put(newer)
    UploaderPool(queue, store, workers=1, idle_s=0.02).drain(max_seconds=10)
    thumb = store.root / "q/porch/latest.thumb.jpg"
    assert thumb.read_bytes() == newer.data
    time.sleep(0.4)  # the lease lapses: the older item is uploaded now, after the newer one
    stats = UploaderPool(queue, store, workers=1, idle_s=0.02).drain(max_seconds=10)
    assert stats.depth == 0
    assert thumb.read_bytes() == newer.data
    queue.close()

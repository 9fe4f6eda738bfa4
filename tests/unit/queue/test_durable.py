"""The durable queue on its own: bounds, leases, acks, parking, orphans (real SQLite, real files)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from camops_workers.contract import QueueConfig
from camops_workers.items import Capture, ItemKind
from camops_workers.queue.durable import (
    SCHEMA_VERSION,
    DurableQueue,
    QueueFull,
    QueueLimits,
    overflow_victims,
    would_overflow,
)
from tests.unit.queue.captures import T0, capture, fill


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[DurableQueue]:
    q = DurableQueue(tmp_path / "q")
    yield q
    q.close()


def limits(**kw: object) -> QueueLimits:
    base: dict[str, object] = {"max_bytes": 10**9, "max_items": 10**6, "max_age_s": 86400.0, "min_free_bytes": 0}
    base.update(kw)
    return QueueLimits(**base)  # type: ignore[arg-type]


def test_pure_bound_decisions() -> None:
    lim = limits(max_items=3, max_bytes=100)
    assert not would_overflow(lim, 2, 50, 50)
    assert would_overflow(lim, 3, 10, 1)
    assert would_overflow(lim, 0, 90, 11)
    assert overflow_victims(lim, 5, 50, [(1, 10), (2, 10), (3, 10), (4, 10)]) == [1, 2]
    assert overflow_victims(lim, 2, 250, [(1, 100), (2, 100)]) == [1, 2]
    assert overflow_victims(lim, 2, 50, [(1, 10)]) == []


def test_put_is_on_disk_with_checksum_and_survives_reopen(tmp_path: Path) -> None:
    q = DurableQueue(tmp_path / "q")
    item = capture("door", 1, 5000, latest=True)
    item_id = q.put(item)
    q.close()
    again = DurableQueue(tmp_path / "q")
    claimed = again.claim("me", 30)
    assert claimed is not None
    assert claimed.id == item_id
    assert claimed.key == item.key
    assert claimed.also_keys == ("q/door/latest.jpg",)
    assert claimed.captured_at == item.captured_at
    assert item.data is not None
    assert claimed.path.read_bytes() == item.data
    assert claimed.sha256 == hashlib.sha256(item.data).hexdigest()
    assert claimed.metadata == {"source": "test"}
    again.close()


def segment_capture(path: Path) -> Capture:
    return Capture(
        camera="door",
        kind=ItemKind.SEGMENT,
        captured_at=T0,
        key="q/door/2026-01/01/000000.000.mp4",
        content_type="video/mp4",
        path=path,
    )


def test_put_moves_a_finished_file_in_without_copying(queue: DurableQueue, tmp_path: Path) -> None:
    segment = tmp_path / "segment.mp4"
    segment.write_bytes(b"\x00\x00\x00\x18ftypmp42" * 100)
    inode = segment.stat().st_ino
    queue.put(segment_capture(segment))
    assert not segment.exists()
    item = queue.claim("me", 30)
    assert item is not None
    assert item.size == 1200
    assert item.path.stat().st_ino == inode
    assert item.sha256 == hashlib.sha256(b"\x00\x00\x00\x18ftypmp42" * 100).hexdigest()


def test_put_copies_a_file_from_another_filesystem(queue: DurableQueue, tmp_path: Path) -> None:
    other = tmp_path / "other-fs"
    other.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(other)], check=True)
    try:
        segment = other / "segment.mp4"
        segment.write_bytes(b"segment" * 1000)
        queue.put(segment_capture(segment))
        assert not segment.exists()
        item = queue.claim("me", 30)
        assert item is not None
        assert item.path.read_bytes() == b"segment" * 1000
    finally:
        subprocess.run(["umount", "-l", str(other)], check=False)


def test_drop_oldest_counts_every_drop(queue: DurableQueue) -> None:
    queue.limits = limits(max_items=5)
    fill(queue, "door", 8, size=100)
    stats = queue.stats()
    assert (stats.depth, stats.dropped) == (5, 3)
    assert len(os.listdir(queue.payloads)) == 5
    first = queue.claim("me", 30)
    assert first is not None
    assert first.key == capture("door", 3).key  # the three oldest went


def test_a_full_queue_logs_one_overflow_line_not_one_per_item(
    queue: DurableQueue, caplog: pytest.LogCaptureFixture
) -> None:
    queue.limits = limits(max_items=5)
    with caplog.at_level("WARNING", logger="camops.queue"):
        fill(queue, "door", 200, size=10)
    overflow_lines = [r for r in caplog.records if "event=queue_overflow" in r.getMessage()]
    assert queue.stats().dropped == 195
    assert len(overflow_lines) == 1


def test_drop_oldest_by_bytes_skips_leased_items(queue: DurableQueue) -> None:
    queue.limits = limits(max_bytes=1000)
    fill(queue, "door", 3, size=300)
    leased = queue.claim("uploader", 30)
    assert leased is not None
    fill(queue, "door", 1, size=300)  # 1200 bytes: the oldest is leased, so the second oldest goes
    assert queue.stats().depth == 3
    assert leased.path.exists()
    assert queue.ack(leased)


def test_reject_new_raises_and_counts(queue: DurableQueue) -> None:
    queue.limits = limits(max_items=2, overflow="rejectNew")
    fill(queue, "door", 2, size=10)
    with pytest.raises(QueueFull, match="full"):
        queue.put(capture("door", 9, 10))
    stats = queue.stats()
    assert (stats.depth, stats.dropped) == (2, 1)
    assert queue.counters()["dropped_rejectNew"] == 1


def test_expiry_by_capture_age_is_counted(queue: DurableQueue) -> None:
    queue.limits = limits(max_age_s=3600.0)
    queue.put(capture("door", 0, 10, when=T0 - timedelta(hours=2)))
    queue.put(capture("door", 1, 10))
    assert queue.stats().expired == 1
    assert queue.stats().depth == 1
    assert queue.expire(now=time.time() + 7200) == 1
    stats = queue.stats()
    assert (stats.depth, stats.expired, stats.oldest_age_s) == (0, 2, None)
    assert os.listdir(queue.payloads) == []


def test_a_leased_item_is_not_handed_out_again_until_the_lease_expires(tmp_path: Path) -> None:
    one, two = DurableQueue(tmp_path / "q"), DurableQueue(tmp_path / "q")  # two processes' worth of connections
    fill(one, "door", 1)
    now = time.time()
    first = one.claim("worker", 10, now)
    assert first is not None
    assert two.claim("drain", 10, now + 5) is None
    assert one.renew([first], 10, now + 5) == 1
    assert two.claim("drain", 10, now + 12) is None  # renewed until now + 15
    taken = two.claim("drain", 10, now + 16)  # the worker died: its lease ran out
    assert taken is not None
    assert taken.id == first.id
    assert not one.ack(first)  # the old holder cannot delete the new holder's claim
    assert taken.path.exists()
    assert two.ack(taken)
    assert not taken.path.exists()
    assert two.stats().uploaded == 1
    one.close()
    two.close()


def test_transient_failure_backs_off_and_permanent_parks(queue: DurableQueue) -> None:
    fill(queue, "door", 2)
    now = time.time()
    a = queue.claim("me", 30, now)
    b = queue.claim("me", 30, now)
    assert a is not None
    assert b is not None
    queue.retry_later(a, "connection refused password=hunter2", 5.0, now)
    queue.park(b, "AccessDenied: Access Denied")
    assert queue.claim("me", 30, now + 1) is None  # a backs off, b is parked
    again = queue.claim("me", 30, now + 6)
    assert again is not None
    assert again.id == a.id
    assert again.attempts == 1
    assert again.last_error == "connection refused password=***"
    stats = queue.stats()
    assert (stats.depth, stats.failed, stats.pending) == (2, 1, 1)
    assert queue.failed_items() == [(b.id, b.key, 1, "AccessDenied: Access Denied")]
    assert queue.retry_failed() == 1
    assert queue.stats().failed == 0


def test_orphan_sweep_spares_files_a_put_still_holds(queue: DurableQueue) -> None:
    item_id = queue.put(capture("door", 1))
    orphan = queue.payloads / "0123abcd"
    orphan.write_bytes(b"left by a crash between row delete and unlink")
    stale_tmp = queue.payloads / ".tmp-feedbeef"
    stale_tmp.write_bytes(b"left by a crash mid-write")
    busy = queue.payloads / ".tmp-busy"
    fd = os.open(busy, os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert queue.sweep_orphans() == 2
        assert busy.exists()
    finally:
        os.close(fd)
    assert sorted(os.listdir(queue.payloads)) == sorted([".tmp-busy", item_id])
    assert queue.stats().depth == 1


def test_missing_payload_is_dropped_and_counted(queue: DurableQueue) -> None:
    fill(queue, "door", 1)
    item = queue.claim("me", 30)
    assert item is not None
    item.path.unlink()
    queue.drop_missing(item)
    stats = queue.stats()
    assert (stats.depth, stats.dropped) == (0, 1)


def test_latest_key_is_not_moved_backwards(queue: DurableQueue) -> None:
    queue.put(capture("door", 1, 10, latest=True))
    queue.put(capture("door", 2, 10, latest=True))
    old = queue.claim("me", 30)
    new = queue.claim("me", 30)
    assert old is not None
    assert new is not None
    queue.note_written("q/door/latest.jpg", new.seq)
    queue.note_written("q/door/latest.jpg", old.seq)  # late and older: does not win
    assert queue.newer_written("q/door/latest.jpg", old.seq)
    assert not queue.newer_written("q/door/latest.jpg", new.seq)


def test_limits_from_the_worker_contract() -> None:
    config = QueueConfig(max_bytes=1000, max_items=7, max_age_s=60.0, overflow="rejectNew", min_free_bytes=0)
    assert QueueLimits.from_config(config) == QueueLimits(1000, 7, 60.0, "rejectNew", 0)
    assert QueueLimits.from_config(QueueConfig()).overflow == "dropOldest"


def test_a_queue_from_a_newer_camops_is_refused(tmp_path: Path) -> None:
    DurableQueue(tmp_path / "q").close()
    with contextlib.closing(sqlite3.connect(tmp_path / "q" / "queue.db")) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer camops"):
        DurableQueue(tmp_path / "q")


def test_puts_survive_a_concurrent_orphan_sweep(queue: DurableQueue) -> None:
    """The sweep may catch a payload between its creation and its lock; the put must still land."""
    import threading

    stop = threading.Event()

    def sweep() -> None:
        while not stop.is_set():
            queue.sweep_orphans()

    sweeper = threading.Thread(target=sweep, daemon=True)
    sweeper.start()
    try:
        batch = fill(queue, "door", 300, size=64)
    finally:
        stop.set()
        sweeper.join(10)
    assert queue.stats().depth == len(batch.expected) == 300
    assert len([n for n in os.listdir(queue.payloads) if not n.startswith(".")]) == 300

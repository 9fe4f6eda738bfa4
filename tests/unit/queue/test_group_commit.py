"""Group commit: puts from many cameras that arrive together share one folder fsync and one WAL commit."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from camops_workers.queue.durable import DurableQueue, QueueLimits, reserve_for, room_victims
from tests.unit.queue.captures import capture

PRODUCERS = 8
PER_PRODUCER = 25
KEEP_ALL = QueueLimits(10**9, 10**6, 86400.0, "dropOldest", min_free_bytes=0)


def test_reserve_scales_with_the_volume() -> None:
    mib = 1024 * 1024
    assert reserve_for(8 * mib) == 1 * mib  # was a fixed 4 MiB: half of an 8 MiB volume
    assert reserve_for(512 * mib) == 32 * mib
    assert reserve_for(100 * 1024 * mib) == 64 * mib
    assert reserve_for(8 * mib, configured=0) == 0
    assert room_victims(10_000, 4096, [(1, 5000), (2, 100), (3, 9000)]) == [1, 2]  # 8192 + 4096 >= 10000
    assert room_victims(0, 4096, [(1, 5000)]) == []


def concurrent_puts(queue: DurableQueue, producers: int, per_producer: int) -> None:
    start = threading.Barrier(producers)
    errors: list[BaseException] = []

    def produce(camera: str) -> None:
        start.wait()
        try:
            for i in range(per_producer):
                queue.put(capture(camera, i, 4096))
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=produce, args=(f"cam{n}",)) for n in range(producers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors


def test_concurrent_puts_from_many_cameras_share_commits(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "q", KEEP_ALL)
    concurrent_puts(queue, PRODUCERS, PER_PRODUCER)
    items = PRODUCERS * PER_PRODUCER
    print(f"\ngroup commit: {items} puts from {PRODUCERS} cameras in {queue.commits} commits")
    assert queue.committed_items == items == queue.stats().depth
    assert queue.commits <= items * 0.6  # most commits carried several cameras' items
    per_camera = queue.by_camera()
    assert per_camera == {f"cam{n}": (PER_PRODUCER, PER_PRODUCER * 4096) for n in range(PRODUCERS)}
    queue.close()


def test_every_count_is_kept_per_camera_too(tmp_path: Path) -> None:
    """One queue serves many cameras: uploads, drops and refusals are counted for the camera they hit."""
    queue = DurableQueue(tmp_path / "q", QueueLimits(10**9, 4, 86400.0, "dropOldest", min_free_bytes=0))
    for i in range(3):
        queue.put(capture("north", i, 100))
    for i in range(3):
        queue.put(capture("south", 10 + i, 100))  # 6 items, bound 4: north's two oldest are dropped
    item = queue.claim("me", 30)
    assert item is not None
    assert item.camera == "north"
    queue.ack(item)
    north, south = queue.camera_stats("north"), queue.camera_stats("south")
    assert (north.depth, north.dropped, north.uploaded) == (0, 2, 1)
    assert (south.depth, south.dropped, south.uploaded, south.bytes) == (3, 0, 0, 300)
    assert queue.stats().dropped == 2
    assert queue.cameras() == ["north", "south"]
    queue.close()


def test_without_group_commit_every_put_commits_alone(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "q", KEEP_ALL, group_commit=False)
    concurrent_puts(queue, 4, 10)
    assert queue.commits == queue.committed_items == 40
    queue.close()


def test_one_producer_commits_each_put_at_once(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "q", KEEP_ALL)
    for i in range(20):
        queue.put(capture("solo", i, 1000))
    assert queue.commits == 20  # nobody to wait for: no batching delay
    queue.close()


_PRODUCER = """
import sys, threading, hashlib
from camops_workers.queue.durable import DurableQueue, QueueLimits
from tests.unit.queue.captures import capture
q = DurableQueue(sys.argv[1], QueueLimits(10**9, 10**6, 86400.0, "dropOldest", min_free_bytes=0))
out = threading.Lock()
def produce(n):
    for i in range(100000):
        c = capture(f"cam{n}", i, 3000)
        item_id = q.put(c)
        with out:
            sys.stdout.write(f"{item_id} {hashlib.sha256(c.data).hexdigest()}\\n")
            sys.stdout.flush()
for n in range(6):
    threading.Thread(target=produce, args=(n,), daemon=True).start()
threading.Event().wait()
"""


@pytest.mark.slow
def test_kill_9_during_group_commit_loses_nothing_acknowledged(tmp_path: Path) -> None:
    """Six producers put as fast as they can; kill -9 at random moments: every acknowledged put is on disk."""
    root = Path(__file__).resolve().parents[3]
    folder = tmp_path / "q"
    acknowledged: dict[str, str] = {}
    rng = random.Random(7)
    for _ in range(4):
        proc = subprocess.Popen(
            [sys.executable, "-c", _PRODUCER, str(folder)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        assert proc.stdout is not None
        lines: list[str] = []
        reader = threading.Thread(target=lines.extend, args=(proc.stdout,), daemon=True)
        reader.start()
        deadline = time.monotonic() + 20
        while len(lines) < 50 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.3))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        reader.join(timeout=10)
        for line in lines:
            if line.endswith("\n"):  # a line cut by the kill was never acknowledged to the reader
                item_id, digest = line.split()
                acknowledged[item_id] = digest
    queue = DurableQueue(folder, KEEP_ALL)
    stored = {str(i): str(d) for i, d in queue._read("SELECT id, sha256 FROM items")}
    missing = [i for i in acknowledged if i not in stored]
    corrupt = [
        i for i, d in acknowledged.items() if hashlib.sha256(queue.payload_path(i).read_bytes()).hexdigest() != d
    ]
    print(
        f"\nkill -9 during group commit: acknowledged={len(acknowledged)} stored={len(stored)} missing={len(missing)}"
    )
    assert len(acknowledged) >= 200
    assert not missing
    assert not corrupt
    assert queue.commits == 0  # nothing committed by the reader itself
    queue.close()

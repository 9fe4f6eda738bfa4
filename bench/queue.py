"""Durable queue benchmark: put rate with fsync, drain throughput, and the CPU the queue costs.

Run: ``.venv/bin/python bench/queue.py [--quick]``. Everything is measured in this run,
against a moto S3 server (its own process) through the real minio client.

- put_per_s: ``DurableQueue.put`` of 100 KB payloads, fsync on (file, folder, SQLite WAL),
  on the disk that holds the repository (not tmpfs).
- drain_per_s: those items uploaded by an ``UploaderPool`` (3 workers) to moto, claimed,
  uploaded with their sha256 and acked (row and file deleted).
- queue_overhead_ratio: process CPU of the whole queue path (put + claim + upload + ack) ÷
  process CPU of uploading the same items straight from memory with 3 threads (sha256
  computed and sent with the same object metadata there too), same server, same sizes. Goal <= 1.3.

- group commit: puts/s of 10 KB snapshots from 1 producer, and from 8 concurrent producers
  (8 cameras) with and without group commit (``DurableQueue(group_commit=False)``: one folder fsync
  and one WAL commit per put); ``group_commit_ratio`` = 8 producers with ÷ without, and
  ``items_per_commit`` with it.

N = 1000 items (``--quick``: 150). The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file shares its name with the standard library's ``queue``: keep bench/ off the import path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402 - after the sys.path fix above
import hashlib  # noqa: E402 - after the sys.path fix above
import io  # noqa: E402 - after the sys.path fix above
import json  # noqa: E402 - after the sys.path fix above
import os  # noqa: E402 - after the sys.path fix above
import shutil  # noqa: E402 - after the sys.path fix above
import tempfile  # noqa: E402 - after the sys.path fix above
import threading  # noqa: E402 - after the sys.path fix above
import time  # noqa: E402 - after the sys.path fix above
from concurrent.futures import ThreadPoolExecutor  # noqa: E402 - after the sys.path fix above
from datetime import UTC, datetime, timedelta  # noqa: E402 - after the sys.path fix above
from typing import Any  # noqa: E402 - after the sys.path fix above

ROOT = _HERE.parent
sys.path.insert(0, str(ROOT))

from camops_workers.items import Capture, ItemKind  # noqa: E402
from camops_workers.queue.durable import DurableQueue  # noqa: E402
from camops_workers.queue.uploader import UploaderPool  # noqa: E402
from camops_workers.storage.keys import object_key  # noqa: E402
from camops_workers.storage.s3 import MinioStore  # noqa: E402
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY, MotoProcess  # noqa: E402

PAYLOAD = 100 * 1024
WORKERS = 3
PRODUCERS = 8
SNAPSHOT = 10 * 1024


def captures(camera: str, count: int, start: datetime) -> list[Capture]:
    return [
        Capture(
            camera=camera,
            kind=ItemKind.SNAPSHOT,
            captured_at=start + timedelta(milliseconds=i),
            key=object_key("dated", "bench", camera, start + timedelta(milliseconds=i), "jpg"),
            content_type="image/jpeg",
            data=os.urandom(PAYLOAD),
        )
        for i in range(count)
    ]


def direct_upload(store: MinioStore, items: list[Capture]) -> None:
    """The no-queue baseline: bytes from memory straight to the store, sha256 in metadata."""

    def one(item: Capture) -> None:
        assert item.data is not None
        meta: Any = {
            "sha256": hashlib.sha256(item.data).hexdigest(),
            "camera": item.camera,
            "kind": str(item.kind),
            "captured-at": item.captured_at.isoformat(timespec="milliseconds"),
        }
        store.client.put_object(
            store.bucket, item.key, io.BytesIO(item.data), len(item.data), content_type=item.content_type, metadata=meta
        )

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(one, items))


def queue_path(store: MinioStore, items: list[Capture], folder: Path) -> tuple[float, float, float, float]:
    """Put everything, then drain it; returns (put s, drain s, put CPU s, drain CPU s)."""
    queue = DurableQueue(folder)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for item in items:
        queue.put(item)
    t1 = time.perf_counter()
    cpu1 = time.process_time()
    stats = UploaderPool(queue, store, workers=WORKERS, idle_s=0.05).drain(max_seconds=600)
    t2 = time.perf_counter()
    cpu2 = time.process_time()
    if stats.depth or stats.uploaded < len(items):
        raise SystemExit(f"drain left {stats.depth} items (uploaded {stats.uploaded})")
    queue.close()
    return t1 - t0, t2 - t1, cpu1 - cpu0, cpu2 - cpu1


def put_rate(folder: Path, producers: int, per_producer: int, *, group_commit: bool) -> tuple[float, float]:
    """Puts/s of ``producers`` cameras putting concurrently, and the items per commit."""
    queue = DurableQueue(folder, group_commit=group_commit)
    start = datetime.now(UTC)
    work = [captures(f"cam{n}", per_producer, start) for n in range(producers)]
    for batch in work:  # same bytes size for every run, fresh random payloads
        for i, item in enumerate(batch):
            batch[i] = Capture(
                camera=item.camera,
                kind=item.kind,
                captured_at=item.captured_at,
                key=item.key,
                content_type=item.content_type,
                data=os.urandom(SNAPSHOT),
            )
    barrier = threading.Barrier(producers + 1)

    def produce(items: list[Capture]) -> None:
        barrier.wait()
        for item in items:
            queue.put(item)

    threads = [threading.Thread(target=produce, args=(batch,)) for batch in work]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    per_commit = queue.committed_items / max(1, queue.commits)
    queue.close()
    return producers * per_producer / elapsed, per_commit


def group_commit_figures(work: Path, count: int) -> dict[str, float]:
    per = max(20, count // PRODUCERS)
    one, _ = put_rate(work / "gc-1", 1, per * 2, group_commit=True)
    grouped, per_commit = put_rate(work / "gc-n", PRODUCERS, per, group_commit=True)
    alone, _ = put_rate(work / "gc-n-off", PRODUCERS, per, group_commit=False)
    return {
        "put_per_s_1_producer": round(one, 1),
        f"put_per_s_{PRODUCERS}_producers_group_commit": round(grouped, 1),
        f"put_per_s_{PRODUCERS}_producers_no_group_commit": round(alone, 1),
        "items_per_commit": round(per_commit, 2),
        "group_commit_ratio": round(grouped / alone, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="150 items instead of 1000")
    args = parser.parse_args()
    count = 150 if args.quick else 1000
    start = datetime.now(UTC)
    moto = MotoProcess()
    moto.start()
    work = Path(tempfile.mkdtemp(prefix=".bench-queue-", dir=ROOT))
    try:
        store = MinioStore(moto.endpoint, "bench-queue", access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False)
        store.ensure_bucket()
        # warm both paths (connections, imports, moto's first requests)
        direct_upload(store, captures("warm-direct", 20, start))
        queue_path(store, captures("warm-queue", 20, start), work / "warm")

        direct_items = captures("direct", count, start)
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        direct_upload(store, direct_items)
        direct_s = time.perf_counter() - t0
        direct_cpu = time.process_time() - cpu0

        queue_items = [
            Capture(
                camera="queued",
                kind=i.kind,
                captured_at=i.captured_at,
                key=i.key.replace("/direct/", "/queued/"),
                content_type=i.content_type,
                data=i.data,
            )
            for i in direct_items
        ]
        put_s, drain_s, put_cpu, drain_cpu = queue_path(store, queue_items, work / "queue")
        queue_cpu = put_cpu + drain_cpu
        grouped = group_commit_figures(work, count)
    finally:
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)

    figures = {
        "items": count,
        "payload_bytes": PAYLOAD,
        "put_per_s": round(count / put_s, 1),
        "drain_per_s": round(count / drain_s, 1),
        "direct_per_s": round(count / direct_s, 1),
        "put_cpu_s": round(put_cpu, 3),
        "drain_cpu_s": round(drain_cpu, 3),
        "queue_cpu_s": round(queue_cpu, 3),
        "direct_cpu_s": round(direct_cpu, 3),
        "queue_overhead_ratio": round(queue_cpu / direct_cpu, 3),
        **grouped,
    }
    print(f"{'figure':<42} value")
    for name, value in figures.items():
        print(f"{name:<42} {value}")
    print("goal: queue_overhead_ratio <= 1.3")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

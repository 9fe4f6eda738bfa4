"""Fault: the queue volume fills up while storage is down (a real 8 MiB tmpfs, moto stopped).

Under ``dropOldest`` new captures keep being accepted: the queue drops its oldest items
before the volume is full (it watches free space) and counts every one in ``dropped``.
Under ``rejectNew`` the refusals are counted in ``dropped``. In both, offered = stored +
dropped, the volume never reaches ENOSPC, and the loss shows in ``camops queue stats`` and
in the metrics.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from camops_workers.queue import cli as queue_cli
from camops_workers.queue.breaker import CircuitBreaker
from camops_workers.queue.durable import DurableQueue, QueueFull, QueueLimits, reserve_for
from camops_workers.storage.factory import open_store
from tests.servers.s3 import S3Server, s3_storage_config
from tests.unit.queue.captures import capture

VOLUME_MIB = 8
OFFERED = 300


@pytest.fixture
def small_volume(tmp_path: Path) -> Iterator[Path]:
    """A real 8 MiB filesystem (tmpfs; we run as root), unmounted afterwards."""
    mount = tmp_path / "volume"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={VOLUME_MIB}m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def free_bytes(path: Path) -> int:
    info = os.statvfs(path)
    return info.f_bavail * info.f_frsize


def dropped_metric(queue: DurableQueue, reason: str) -> float:
    return REGISTRY.get_sample_value("camops_queue_dropped_total", {"queue": queue.name, "reason": reason}) or 0.0


def queue_stats(queue_dir: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    """What ``camops queue stats --queue DIR [extra]`` prints."""
    parser = argparse.ArgumentParser()
    queue_cli.configure(parser)
    printed = capsys.readouterr().out
    assert queue_cli.main(parser.parse_args(["stats", "--queue", str(queue_dir), *extra])) == 0
    out = capsys.readouterr().out
    print(printed, end="")  # the test's own figures stay in its output
    return out


def offer_stream(queue: DurableQueue, volume: Path, rng: random.Random) -> tuple[int, int, int, int]:
    """Put OFFERED captures of 40-160 KB (and a few 1 MB segments); returns (accepted, refused, enospc, min free)."""
    accepted = refused = enospc = 0
    lowest = free_bytes(volume)
    for i in range(OFFERED):
        size = 1024 * 1024 if i % 50 == 49 else rng.randint(40_000, 160_000)
        try:
            queue.put(capture("gate", i, size))
            accepted += 1
        except QueueFull:
            refused += 1
        except OSError as exc:
            refused += 1
            enospc += "queue volume full" in str(exc)
        lowest = min(lowest, free_bytes(volume))
    return accepted, refused, enospc, lowest


@pytest.mark.slow
def test_drop_oldest_keeps_accepting_on_a_full_volume_with_storage_down(
    small_volume: Path, s3_server: S3Server, capsys: pytest.CaptureFixture[str]
) -> None:
    s3_server.stop()  # storage down for the whole run: nothing leaves the queue
    queue_dir = small_volume / "queue"
    queue = DurableQueue(queue_dir, QueueLimits(10**9, 10**6, 86400.0, "dropOldest"))
    store = open_store(s3_storage_config(s3_server, "cams"))
    from camops_workers.queue.uploader import UploaderPool

    pool = UploaderPool(
        queue, store, workers=2, breaker=CircuitBreaker(failure_threshold=2, base_open_s=0.2, max_open_s=1.0)
    )
    pool.start()
    try:
        accepted, refused, enospc, lowest = offer_stream(queue, small_volume, random.Random(12))
    finally:
        pool.stop()
    stats = queue.stats()
    counters = queue.counters()
    reserve = reserve_for(VOLUME_MIB * 1024 * 1024)
    print(
        f"\nfull volume, dropOldest: offered={OFFERED} accepted={accepted} refused={refused} stored={stats.depth} "
        f"dropped={stats.dropped} uploaded={stats.uploaded} lowest_free={lowest} reserve={reserve} "
        f"counters={counters}"
    )
    assert (accepted, refused, enospc) == (OFFERED, 0, 0)  # every new capture was accepted
    assert stats.uploaded == 0
    assert stats.depth + stats.dropped == OFFERED  # every loss counted, none unaccounted
    assert stats.dropped == counters["dropped_dropOldest"] > OFFERED // 2  # the volume really was full
    assert not any(name.startswith("put_error") for name in counters)
    assert lowest > 0  # the volume itself never filled up
    assert dropped_metric(queue, "dropOldest") == stats.dropped
    # the newest captures are the ones kept
    newest = {capture("gate", i).key for i in range(OFFERED - 5, OFFERED)}
    kept = {str(r[0]) for r in queue._read("SELECT key FROM items")}
    assert newest <= kept
    queue.close()
    out = queue_stats(queue_dir, capsys, "--json")
    assert f'"dropped": {stats.dropped}' in out
    assert f"dropped     {stats.dropped} (dropOldest {stats.dropped})" in queue_stats(queue_dir, capsys)


@pytest.mark.slow
def test_reject_new_counts_every_refusal_on_a_full_volume(
    small_volume: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queue_dir = small_volume / "queue"
    queue = DurableQueue(queue_dir, QueueLimits(10**9, 10**6, 86400.0, "rejectNew"))
    accepted, refused, enospc, lowest = offer_stream(queue, small_volume, random.Random(13))
    stats = queue.stats()
    counters = queue.counters()
    print(
        f"\nfull volume, rejectNew: offered={OFFERED} accepted={accepted} refused={refused} stored={stats.depth} "
        f"dropped={stats.dropped} lowest_free={lowest} counters={counters}"
    )
    assert accepted == stats.depth > 10
    assert refused == stats.dropped == counters["dropped_volumeFull"] == enospc > 0
    assert accepted + refused == OFFERED
    assert lowest > 0
    assert dropped_metric(queue, "volumeFull") == refused
    queue.close()
    out = queue_stats(queue_dir, capsys, "--json")
    assert f'"dropped": {refused}' in out
    assert '"dropped_volumeFull"' in out

"""The queue against a real S3 server (moto) through the real minio client: outages, 403, a full disk."""

from __future__ import annotations

import argparse
import contextlib
import errno
import hashlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from camops_workers.queue import cli as queue_cli
from camops_workers.queue.breaker import CircuitBreaker
from camops_workers.queue.durable import DurableQueue, QueueLimits
from camops_workers.queue.uploader import UploaderPool
from camops_workers.storage.base import ObjectStore
from camops_workers.storage.factory import open_store
from camops_workers.storage.s3 import MinioStore
from tests.integration.queue.bucket import assert_bucket_holds
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY, MotoProcess, S3Server, s3_storage_config
from tests.unit.queue.captures import T0, capture, fill

pytestmark = pytest.mark.slow


def fast_pool(queue: DurableQueue, store: ObjectStore, **kwargs: object) -> UploaderPool:
    """A pool whose breaker and backoff run in tenths of seconds, so outages resolve quickly in tests."""
    breaker = CircuitBreaker(failure_threshold=3, base_open_s=0.2, max_open_s=1.0)
    return UploaderPool(
        queue,
        store,
        workers=3,
        breaker=breaker,
        idle_s=0.1,
        retry_base_s=0.1,
        retry_cap_s=0.5,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def bucket() -> str:
    return f"cams-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[DurableQueue]:
    q = DurableQueue(tmp_path / "queue")
    yield q
    q.close()


def payload_files(queue: DurableQueue) -> list[str]:
    return sorted(p.name for p in queue.payloads.iterdir())


def test_storage_down_at_start_then_up_delivers_all_500(
    s3_server: S3Server, bucket: str, queue: DurableQueue, caplog: pytest.LogCaptureFixture
) -> None:
    s3_server.stop()
    batch = fill(queue, "gate", 500)
    store = open_store(s3_storage_config(s3_server, bucket))
    pool = fast_pool(queue, store)
    with caplog.at_level(logging.INFO, logger="camops.uploader"):
        pool.start()
        deadline = time.monotonic() + 10
        while pool.breaker_state == "closed" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pool.breaker_state in {"open", "half-open"}
        time.sleep(1.0)
        assert queue.stats().depth == 500  # everything waits on disk
        assert pool.last_error is not None
        assert "Connection" in pool.last_error
        s3_server.start()
        stats = pool.drain(max_seconds=90)
        pool.stop()
    assert (stats.depth, stats.failed, stats.uploaded) == (0, 0, 500)
    assert str(pool.breaker_state) == "closed"
    assert payload_files(queue) == []
    assert_bucket_holds(store, batch.expected, "q/gate/")
    breaker_lines = [r for r in caplog.records if "event=storage_breaker" in r.getMessage()]
    assert 2 <= len(breaker_lines) < 30  # one line per state change, not one per item
    assert breaker_lines[-1].getMessage().startswith("event=storage_breaker state=closed")


def test_storage_killed_mid_drain_and_restarted(s3_server: S3Server, bucket: str, queue: DurableQueue) -> None:
    batch = fill(queue, "yard", 300)
    store = open_store(s3_storage_config(s3_server, bucket))
    pool = fast_pool(queue, store)
    pool.start()
    deadline = time.monotonic() + 30
    while queue.stats().uploaded < 40 and time.monotonic() < deadline:
        time.sleep(0.02)
    s3_server.stop()
    time.sleep(1.0)
    during = queue.stats()
    assert 40 <= during.uploaded < 300
    assert pool.breaker_state in {"open", "half-open"}
    time.sleep(0.5)
    assert queue.stats().uploaded == during.uploaded  # nothing moves while storage is gone
    s3_server.start()
    stats = pool.drain(max_seconds=90)
    pool.stop()
    assert (stats.depth, stats.uploaded) == (0, 300)
    assert payload_files(queue) == []
    assert_bucket_holds(store, batch.expected, "q/yard/")


def test_storage_process_sigkilled_mid_drain_and_restarted(queue: DurableQueue, bucket: str) -> None:
    """The S3 server process itself dies (SIGKILL) and comes back on its port, empty: moto keeps nothing on disk.

    What the server had acknowledged before it died is lost by the server, not by us; everything the
    queue still held at that moment must arrive at the new server, byte for byte.
    """
    backend = MotoProcess()
    backend.start()
    try:
        batch = fill(queue, "alley", 300)
        store = MinioStore(backend.endpoint, bucket, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False)
        pool = fast_pool(queue, store)
        pool.start()
        deadline = time.monotonic() + 30
        while queue.stats().uploaded < 40 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert backend.proc is not None
        backend.proc.send_signal(signal.SIGKILL)
        backend.proc.wait(10)
        with contextlib.closing(sqlite3.connect(queue.directory / "queue.db")) as db:
            owed = {str(k) for (k,) in db.execute("SELECT key FROM items")}  # what the queue still held
        time.sleep(0.5)
        assert pool.breaker_state in {"open", "half-open"}
        backend.start()  # same port, an empty server: the pool creates the bucket again
        stats = pool.drain(max_seconds=90)
        pool.stop()
        assert (stats.depth, stats.uploaded) == (0, 300)
        assert payload_files(queue) == []
        assert 100 <= len(owed) < 300
        assert_bucket_holds(store, {k: batch.expected[k] for k in owed}, "q/alley/", stat_every=20)
    finally:
        backend.stop()


def test_access_denied_parks_items_as_failed_until_retried(
    s3_server: S3Server, bucket: str, queue: DurableQueue, capsys: pytest.CaptureFixture[str]
) -> None:
    client = s3_server.client()
    client.make_bucket(bucket)  # type: ignore[attr-defined]
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
        ],
    }
    client.set_bucket_policy(bucket, json.dumps(deny))  # type: ignore[attr-defined]
    batch = fill(queue, "lobby", 5)
    store = open_store(s3_storage_config(s3_server, bucket))
    pool = fast_pool(queue, store)
    stats = pool.drain(max_seconds=20)
    assert (stats.depth, stats.failed, stats.pending) == (5, 5, 0)
    pool.start()
    time.sleep(1.0)  # a running pool does not hammer the store with parked items
    pool.stop()
    assert [a for _, _, a, _ in queue.failed_items()] == [1, 1, 1, 1, 1]
    assert len(payload_files(queue)) == 5  # kept on disk, not deleted
    assert pool.breaker_state == "closed"  # the store answered: it is reachable

    args = queue_cli_args("stats", queue, json_out=True)
    assert queue_cli.main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["failed"] == 5
    assert report["depth"] == 5
    assert all("AccessDenied" in item["error"] for item in report["failed_items"])
    assert s3_server.secret_key not in json.dumps(report)

    client.delete_bucket_policy(bucket)  # type: ignore[attr-defined]
    assert queue_cli.main(queue_cli_args("retry", queue)) == 0
    assert "re-armed 5" in capsys.readouterr().out
    stats = pool.drain(max_seconds=20)
    assert (stats.depth, stats.failed, stats.uploaded) == (0, 0, 5)
    assert_bucket_holds(store, batch.expected, "q/lobby/", stat_every=1)


def queue_cli_args(action: str, queue: DurableQueue, *, json_out: bool = False) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    queue_cli.configure(parser)
    argv = [action, "--queue", str(queue.directory)] + (["--json"] if json_out and action == "stats" else [])
    return parser.parse_args(argv)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A real 8 MiB filesystem (tmpfs); we run as root in CI and here."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_under_reject_new_is_a_clear_counted_refusal_and_the_queue_still_drains(
    small_fs: Path, s3_server: S3Server, bucket: str
) -> None:
    limits = QueueLimits(10**9, 10**6, 86400.0, "rejectNew", min_free_bytes=2 * 1024 * 1024)
    queue = DurableQueue(small_fs / "queue", limits)
    stored = 0
    error: OSError | None = None
    for i in range(200):
        try:
            queue.put(capture("attic", i, 100_000))
            stored += 1
        except OSError as exc:
            error = exc
            break
    assert error is not None
    assert error.errno == errno.ENOSPC
    assert "queue volume full" in str(error)
    assert queue.stats().depth == stored > 10
    assert len(payload_files(queue)) == stored  # no half-written payload left behind
    counted = REGISTRY.get_sample_value("camops_queue_dropped_total", {"queue": queue.name, "reason": "volumeFull"})
    assert counted == 1
    assert queue.stats().dropped == 1  # a refusal is a loss: it is in ``dropped``, not only in an error counter

    store = open_store(s3_storage_config(s3_server, bucket))
    drained = UploaderPool(queue, store, workers=2, idle_s=0.1).drain(max_seconds=60)  # on the full disk
    assert (drained.depth, drained.uploaded) == (0, stored)
    queue.put(capture("attic", 1000, 100_000))  # space came back: puts work again
    assert queue.stats().depth == 1
    queue.close()
    reopened = DurableQueue(small_fs / "queue")
    assert reopened.stats().depth == 1
    reopened.close()


def test_volume_filled_by_someone_else_fails_the_put_cleanly(small_fs: Path) -> None:
    queue = DurableQueue(small_fs / "queue", QueueLimits(10**9, 10**6, 86400.0, "dropOldest", min_free_bytes=0))
    queue.put(capture("cellar", 0, 10_000))
    filler = small_fs / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    with contextlib.suppress(OSError):
        for _ in range(10_000):  # 8 MiB at most
            os.write(fd, b"\0" * 4096)
    os.close(fd)
    with pytest.raises(OSError, match="queue volume full") as caught:
        queue.put(capture("cellar", 1, 10_000))
    assert caught.value.errno == errno.ENOSPC
    assert len(payload_files(queue)) == 1  # the half-written payload is gone, the first one intact
    assert queue.stats().depth == 1
    filler.unlink()
    queue.put(capture("cellar", 2, 10_000))
    assert queue.stats().depth == 2
    assert len(payload_files(queue)) == 2
    queue.close()


def test_drain_command_exits_zero_when_empty(s3_server: S3Server, bucket: str, tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "q", QueueLimits(10**9, 10**6, 60 * 86400.0, "dropOldest", min_free_bytes=0))
    batch = fill(queue, "porch", 20)
    old = capture("porch", 0, 100, when=T0 - timedelta(days=30))  # older than the default 7 days
    queue.put(old)
    assert old.data is not None
    batch.expected[old.key] = hashlib.sha256(old.data).hexdigest()
    queue.close()
    env = {
        "CAMOPS_STORAGE_ENDPOINT": f"http://{s3_server.endpoint}",
        "CAMOPS_STORAGE_BUCKET": bucket,
        "CAMOPS_STORAGE_ACCESS_KEY": s3_server.access_key,
        "CAMOPS_STORAGE_SECRET_KEY": s3_server.secret_key,
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "camops_operator.cli", "drain", "--queue", str(tmp_path / "q"), "--max-seconds", "60"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "drain: pending=0" in done.stdout
    assert s3_server.secret_key not in done.stdout + done.stderr
    store = open_store(s3_storage_config(s3_server, bucket))
    assert_bucket_holds(store, batch.expected, "q/porch/")

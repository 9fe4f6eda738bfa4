"""Real processes on one queue: `camops drain` SIGKILLed at random moments, and a pool racing a drain."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from minio.commonconfig import ENABLED
from minio.versioningconfig import VersioningConfig
from prometheus_client import REGISTRY

from camops_workers.queue.durable import DurableQueue
from camops_workers.queue.uploader import UploaderPool
from camops_workers.storage.factory import open_store
from tests.integration.queue.bucket import assert_bucket_holds, versions_per_key
from tests.servers.s3 import S3Server, s3_storage_config
from tests.unit.queue.captures import fill

pytestmark = pytest.mark.slow
ITEMS = 1000  # enough that 20 short-lived drains never empty the queue on a fast machine


def drain_command(queue_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "camops_operator.cli", "drain", "--queue", str(queue_dir), "--quiet", *extra]


def drain_env(server: S3Server, bucket: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CAMOPS_STORAGE_ENDPOINT": server.endpoint,
        "CAMOPS_STORAGE_SECURE": "false",
        "CAMOPS_STORAGE_BUCKET": bucket,
        "CAMOPS_STORAGE_ACCESS_KEY": server.access_key,
        "CAMOPS_STORAGE_SECRET_KEY": server.secret_key,
    }


def test_drain_killed_20_times_loses_nothing_and_leaves_no_orphans(s3_server: S3Server, tmp_path: Path) -> None:
    bucket = f"crash-{uuid.uuid4().hex[:8]}"
    queue_dir = tmp_path / "queue"
    queue = DurableQueue(queue_dir)
    batch = fill(queue, "dock", ITEMS, size=512)
    rng = random.Random(20)
    env = drain_env(s3_server, bucket)
    kills = 0
    for _ in range(20):
        proc = subprocess.Popen(
            drain_command(queue_dir, "--lease", "1s", "--workers", "2"),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        before = queue.stats().uploaded
        deadline = time.monotonic() + 10
        while queue.stats().uploaded == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)  # wait until this drain is uploading...
        time.sleep(rng.uniform(0.0, 0.06))  # ...then kill it at a random moment of its work
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(30)
    assert kills == 20
    after_kills = queue.stats()
    queue.close()
    print("uploaded while being killed:", after_kills.uploaded)
    assert 0 < after_kills.uploaded < ITEMS  # the kills hit drains at work, and work was left for the last one
    final = subprocess.run(
        drain_command(queue_dir, "--lease", "1s", "--max-seconds", "120"),
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert final.returncode == 0, final.stderr
    queue = DurableQueue(queue_dir)
    stats = queue.stats()
    queue.close()
    assert (stats.depth, stats.uploaded, stats.dropped, stats.expired) == (0, ITEMS, 0, 0)
    assert sorted(os.listdir(queue_dir / "payloads")) == []  # no orphan payloads, no temp files
    store = open_store(s3_storage_config(s3_server, bucket))
    assert_bucket_holds(store, batch.expected, "q/dock/", stat_every=25)


def test_pool_and_drain_on_one_queue_never_upload_the_same_item_twice(s3_server: S3Server, tmp_path: Path) -> None:
    """With versioning on, an item uploaded by both (while the other held its lease) would leave two versions."""
    bucket = f"race-{uuid.uuid4().hex[:8]}"
    client = s3_server.client()
    client.make_bucket(bucket)  # type: ignore[attr-defined]
    client.set_bucket_versioning(bucket, VersioningConfig(ENABLED))  # type: ignore[attr-defined]
    queue_dir = tmp_path / "queue"
    queue = DurableQueue(queue_dir)
    camera = f"race{uuid.uuid4().hex[:6]}"
    batch = fill(queue, camera, 400, size=1024)
    proc = subprocess.Popen(
        drain_command(queue_dir, "--workers", "3"),
        env=drain_env(s3_server, bucket),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while queue.stats().uploaded == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    pool = UploaderPool(queue, open_store(s3_storage_config(s3_server, bucket)), workers=3, idle_s=0.05)
    stats = pool.drain(max_seconds=60)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert queue.stats().depth == 0
    assert stats.uploaded == 400
    by_pool = REGISTRY.get_sample_value("camops_uploads_total", {"camera": camera, "result": "ok", "reason": "ok"})
    assert by_pool is not None
    assert 0 < by_pool < 400  # both really worked the queue at the same time
    versions = versions_per_key(client, bucket, f"q/{camera}/")
    assert sorted(versions) == sorted(batch.expected)
    assert max(versions.values()) == 1
    queue.close()

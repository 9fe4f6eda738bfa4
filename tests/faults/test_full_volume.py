"""Fault: the queue volume fills up while storage is down (a real 8 MiB tmpfs, moto stopped).

Under ``dropOldest`` new captures keep being accepted: the queue drops its oldest items
before the volume is full (it watches free space) and counts every one in ``dropped``.
Under ``rejectNew`` the refusals are counted in ``dropped``. In both, offered = stored +
dropped, the volume never reaches ENOSPC, and the loss shows in ``camops queue stats`` and
in the metrics.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import yaml
from prometheus_client import REGISTRY

from camops_workers.capture.segments import SegmentWriter
from camops_workers.items import Capture, ItemKind
from camops_workers.queue import cli as queue_cli
from camops_workers.queue.breaker import CircuitBreaker
from camops_workers.queue.durable import DurableQueue, QueueFull, QueueLimits, reserve_for
from camops_workers.storage.factory import open_store
from tests.servers.http_camera import HttpCamera
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY, S3Server, s3_storage_config
from tests.unit.queue.captures import T0, capture

VOLUME_MIB = 8
OFFERED = 300


@contextlib.contextmanager
def tmpfs(mount: Path, mib: int) -> Iterator[Path]:
    """A real filesystem of ``mib`` MiB (tmpfs; we run as root), unmounted afterwards."""
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mib}m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def small_volume(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "volume", VOLUME_MIB) as mount:
        yield mount


@pytest.fixture
def tiny_volume(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "tiny", 4) as mount:
        yield mount


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


@pytest.mark.slow
def test_camops_local_on_a_full_volume_shows_every_loss_in_its_summary(
    tiny_volume: Path,
    s3_server: S3Server,
    http_camera: Callable[..., HttpCamera],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The whole product: ``camops local`` with its data folder on the 8 MiB volume and the bucket down."""
    camera = http_camera(width=1920, height=1080)
    cameras = tiny_volume.parent / "cameras.yaml"
    cameras.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "camops.io/v1alpha1",
                "kind": "Camera",
                "metadata": {"name": "yard"},
                "spec": {"source": {"url": camera.url}, "snapshots": {"interval": "200ms"}},
            }
        )
    )
    s3_server.stop()
    data = tiny_volume / "data"
    env = {
        **os.environ,
        "CAMOPS_STORAGE_ACCESS_KEY": ACCESS_KEY,
        "CAMOPS_STORAGE_SECRET_KEY": SECRET_KEY,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    argv = ["-f", str(cameras), "--data", str(data), "--endpoint", f"http://{s3_server.endpoint}", "--seconds", "12"]
    done = subprocess.run(
        [sys.executable, "-m", "camops_operator.cli", "local", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = done.stdout[done.stdout.index("camops local ran") :]
    lines = summary.splitlines()
    column = lines[1].index("dropped")  # right-aligned under its header
    row = next(line for line in lines if line.startswith("yard "))
    dropped_in_summary = int(row[column : column + len("dropped")])
    stats = json.loads(queue_stats(data / ".camops" / "queue" / "yard", capsys, "--json"))
    print(
        f"\ncamops local on a full volume: offered={stats['depth'] + stats['dropped']} queued={stats['depth']} "
        f"dropped={stats['dropped']} (summary {dropped_in_summary}) by reason={stats['dropped_by_reason']}"
    )
    assert stats["dropped"] > 0  # the volume filled up: the oldest made room
    assert stats["dropped_by_reason"].get("volumeFull", 0) == 0  # and no new capture was refused
    assert dropped_in_summary == stats["dropped"]
    assert not any(k.startswith("put_error") for k in stats["counters"])


def noise_clip(path: Path, seconds: float, fps: int = 25) -> Path:
    """An H.264 clip of random pictures: incompressible, so a few seconds weigh megabytes."""
    rng = np.random.default_rng(5)
    with av.open(str(path), "w", format="mp4") as out:
        stream: Any = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "10", "g": str(fps)}
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.mark.slow
def test_an_open_segment_growing_on_a_full_volume_makes_the_queue_drop_its_oldest(
    small_volume: Path, tmp_path: Path
) -> None:
    """A recording's open segment lives on the queue volume too: as its fragments land, the oldest items make room."""
    clip = noise_clip(tmp_path / "noise.mp4", 3.0)
    queue = DurableQueue(small_volume / "queue", QueueLimits(10**9, 10**6, 86400.0, "dropOldest"))
    for i in range(60):  # ~6 MB of snapshots waiting (storage down): the volume is nearly at its reserve
        queue.put(capture("gate", i, 100_000))
    before = queue.stats().dropped
    writer = SegmentWriter(small_volume / "queue" / "capture-work", "gate", 60.0, make_room=queue.make_room)
    lowest = free_bytes(small_volume)
    with av.open(str(clip)) as container:
        stream: Any = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            writer.write(packet, stream, stream_s=float(packet.pts * stream.time_base), wall=T0)
            lowest = min(lowest, free_bytes(small_volume))
    segment = writer.close()
    assert segment is not None
    queue.put(
        Capture(
            camera="gate",
            kind=ItemKind.SEGMENT,
            captured_at=T0,
            key="q/gate/segment.mp4",
            content_type="video/mp4",
            path=segment.path,
        )
    )
    stats, counters = queue.stats(), queue.counters()
    print(
        f"\nopen segment on a full volume: segment={segment.size} bytes, dropped for it={stats.dropped - before}, "
        f"lowest_free={lowest}, counters={counters}"
    )
    assert segment.size > 2 * 1024 * 1024
    assert stats.dropped - before >= 15  # the segment's megabytes came from the oldest snapshots
    assert stats.dropped == counters["dropped_dropOldest"]
    assert lowest > 0
    (kept,) = [p for p in queue.payloads.iterdir() if p.stat().st_size == segment.size]
    with av.open(str(kept)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 75
    queue.close()


@pytest.mark.slow
def test_a_segment_cut_short_by_a_full_volume_keeps_its_whole_fragments(small_volume: Path, tmp_path: Path) -> None:
    """Under rejectNew nothing makes room: the muxer hits ENOSPC; closing keeps what is whole, the rest is freed."""
    clip = noise_clip(tmp_path / "noise.mp4", 3.0)
    queue = DurableQueue(small_volume / "queue", QueueLimits(10**9, 10**6, 86400.0, "rejectNew"))
    for i in range(40):  # ~4 MB waiting: room for the first fragment (~2 MB of noise), not for the second
        queue.put(capture("gate", i, 100_000))
    writer = SegmentWriter(small_volume / "queue" / "capture-work", "gate", 60.0, make_room=queue.make_room)
    failure: OSError | None = None
    with av.open(str(clip)) as container:
        stream: Any = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            try:
                writer.write(packet, stream, stream_s=float(packet.pts * stream.time_base), wall=T0)
            except OSError as exc:
                failure = exc
                break
    assert failure is not None
    assert failure.errno == errno.ENOSPC
    segment = writer.close()
    assert segment is not None
    assert not list((small_volume / "queue" / "capture-work").glob("*.part"))
    with av.open(str(segment.path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    print(f"\nsegment cut by a full volume: kept {frames} frames ({segment.duration_s:.2f} s), {segment.size} bytes")
    assert frames == round(segment.duration_s * 25) >= 25
    queue.close()

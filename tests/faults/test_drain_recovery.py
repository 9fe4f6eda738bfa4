"""Fault: ``kill -9`` of a recording ``camops capture``, then the camera is paused: ``camops drain``
recovers the killed worker's half-written segment (cut after its last whole fragment, as the
worker's own next start would) and uploads it, under the camera's storage prefix, into S3 (moto).

Without it, a worker that crashes and is then paused keeps its ``.mp4.part`` forever.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest

from tests.integration.capture.helpers import contract
from tests.servers.rtsp import RtspServer
from tests.servers.s3 import S3Server

pytestmark = pytest.mark.slow

FPS = 25
#: a crash loses at most the fragment being written (<= 1 s) plus delivery: as for the worker's own recovery
MAX_LOST_S = 2.5


def _camops() -> str:
    return str(Path(sys.executable).with_name("camops"))


def test_drain_recovers_the_segment_a_killed_worker_left(
    tmp_path: Path, rtsp_server: Callable[..., RtspServer], s3_server: S3Server
) -> None:
    server = rtsp_server(gop=FPS, fps=FPS)
    config = contract(
        tmp_path,
        server.url("/live"),
        snapshots={"enabled": False},
        recording={"enabled": True, "segment_duration_s": 60.0},
        storage={"prefix": "site-a"},
    )
    path = tmp_path / "worker.json"
    path.write_text(json.dumps(config.model_dump(mode="json")))
    work = tmp_path / "queue" / "capture-work"
    proc = subprocess.Popen(
        [_camops(), "capture", "--config", str(path), "--no-http"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not list(work.glob("*.mp4.part")) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            time.sleep(0.05)
        assert list(work.glob("*.mp4.part")), "no segment started"
        started = time.time()
        time.sleep(3.0)
        killed = time.time()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert len(list(work.glob("*.mp4.part"))) == 1  # what the kill left

    env = {
        **os.environ,
        "CAMOPS_STORAGE_ACCESS_KEY": s3_server.access_key,
        "CAMOPS_STORAGE_SECRET_KEY": s3_server.secret_key,
    }
    done = subprocess.run(
        [
            *(_camops(), "drain", "--queue", str(tmp_path / "queue")),
            *("--endpoint", f"http://{s3_server.endpoint}", "--bucket", "paused", "--max-seconds", "30"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "recovered 1 segment" in done.stdout
    assert not list(work.glob("*.part"))
    client: Any = s3_server.client()
    keys = [o.object_name for o in client.list_objects("paused", recursive=True)]
    segments = [k for k in keys if k.endswith(".mp4")]
    assert len(segments) == 1, keys
    assert segments[0].startswith("site-a/cam1/")  # the key the worker would have made
    local = tmp_path / "segment.mp4"
    client.fget_object("paused", segments[0], str(local))
    with av.open(str(local)) as container:
        frames = sum(1 for _ in container.decode(container.streams.video[0]))  # decodes, every frame
    seconds = frames / FPS
    lost = (killed - started) - seconds
    print(
        f"\ndrain after kill -9: recovered 1 segment of {seconds:.2f} s ({frames} frames) from "
        f"{killed - started:.2f} s recorded before the kill; lost {lost:.2f} s; key {segments[0]}"
    )
    assert frames >= FPS
    assert lost <= MAX_LOST_S

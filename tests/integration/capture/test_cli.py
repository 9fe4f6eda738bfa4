"""``camops capture`` as a real process: probes and metrics, SIGTERM closes the open segment and exits in time."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from tests.integration.capture.helpers import contract, drain, free_port, stored
from tests.servers.rtsp import RtspServer

pytestmark = pytest.mark.slow

GRACE_S = 10.0


def _camops() -> str:
    return str(Path(sys.executable).with_name("camops"))


def _wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "camops capture exited early"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("worker never became ready")


def test_sigterm_closes_the_segment_and_exits_within_the_grace_period(
    tmp_path: Path, rtsp_server: Callable[..., RtspServer]
) -> None:
    server = rtsp_server(gop=10)
    port = free_port()
    config = contract(
        tmp_path,
        server.url("/live"),
        recording={"enabled": True, "segment_duration_s": 60.0},
        http_port=port,
    )
    path = tmp_path / "worker.json"
    path.write_text(json.dumps(config.model_dump(mode="json")))
    proc = subprocess.Popen(
        [_camops(), "capture", "--config", str(path), "--grace", str(GRACE_S)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_ready(port, proc, timeout=20)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        time.sleep(2.5)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
        assert 'camops_capture_source_state{camera="cam1",state="connected"} 1.0' in metrics
        assert _sample(metrics, "camops_capture_snapshots_total") >= 2
        assert _sample(metrics, "camops_capture_packets_total") > _sample(
            metrics, "camops_capture_frames_decoded_total"
        )
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=GRACE_S + 10)
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _, err = proc.communicate()
    assert code == 0, err.decode()[-2000:]
    assert elapsed < GRACE_S
    assert b"worker stopped camera=cam1" in err

    drain(config)
    segments = stored(config, ".mp4")
    assert len(segments) == 1
    with av.open(str(segments[0])) as container:
        stream: Any = container.streams.video[0]
        assert float(stream.duration * stream.time_base) >= 2.0
        assert sum(1 for _ in container.decode(stream)) >= 50


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def test_invalid_contract_is_a_usage_error_without_secrets(tmp_path: Path) -> None:
    path = tmp_path / "worker.json"
    path.write_text(json.dumps({"camera": "cam1", "source": {"url": "rtsp://admin:Secr3t-X@cam/live"}, "bogus": 1}))
    done = subprocess.run([_camops(), "capture", "--config", str(path)], check=False, capture_output=True, timeout=60)
    assert done.returncode == 2
    assert b"invalid config" in done.stderr
    assert b"Secr3t-X" not in done.stderr


def test_unusable_storage_fails_with_one_line(tmp_path: Path) -> None:
    config = contract(tmp_path, "rtsp://127.0.0.1:9/live", storage={"kind": "local", "directory": None})
    path = tmp_path / "worker.json"
    path.write_text(json.dumps(config.model_dump(mode="json")))
    done = subprocess.run(
        [_camops(), "capture", "--config", str(path), "--no-http"], check=False, capture_output=True, timeout=60
    )
    assert done.returncode == 1
    assert b"worker failed camera=cam1" in done.stderr
    assert b"Traceback" not in done.stderr

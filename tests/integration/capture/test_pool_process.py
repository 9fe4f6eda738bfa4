"""One worker process, many cameras: a dying source stays alone, the contract reloads in place.

Real parts: two GStreamer RTSP servers, the real capture threads, queue and local store, the
HTTP server, and the Kubernetes emulator receiving each camera's status patch.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from camops_workers.contract import ProcessConfig, WorkerConfig
from camops_workers.process import CameraSet, ContractFile, run_process
from tests.integration.capture.helpers import free_port
from tests.servers.kube import KubeServer
from tests.servers.rtsp import RtspServer

pytestmark = pytest.mark.slow

INTERVAL_S = 0.5
CAMERAS = "camops.io/v1alpha1/cameras"


def camera(tmp_path: Path, name: str, url: str) -> dict[str, Any]:
    return {
        "camera": name,
        "namespace": "site-a",
        "source": {"url": url, "connect_timeout_s": 3.0, "stall_timeout_s": 3.0},
        "snapshots": {"interval_s": INTERVAL_S, "quality": 70},
        "storage": {"kind": "local", "directory": str(tmp_path / "store"), "bucket": "unused"},
        "queue": {"directory": str(tmp_path / "queue")},
        "report": {"namespace": "site-a", "name": name, "min_interval_s": 0.5},
    }


def write_contract(
    path: Path, tmp_path: Path, port: int, cameras: list[dict[str, Any]], worker: str = "lobby-pool-0"
) -> None:
    config = ProcessConfig(
        pool="lobby",
        worker=worker,
        cameras=[WorkerConfig.model_validate(c) for c in cameras],
        queue={"directory": str(tmp_path / "queue"), "uploaders": 2},  # type: ignore[arg-type]
        storage={"kind": "local", "directory": str(tmp_path / "store"), "bucket": "unused"},  # type: ignore[arg-type]
        http_host="127.0.0.1",
        http_port=port,
    )
    tmp = path.with_suffix(".tmp")
    tmp.write_text(config.model_dump_json())
    tmp.replace(path)  # as the kubelet swaps a mounted ConfigMap: atomically


class Watch:
    """The running CameraSet, seen after every pass of the process loop."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.snapshots: dict[str, int] = {}
        self.workers: dict[str, int] = {}
        self.states: dict[str, str] = {}

    def __call__(self, cameras: CameraSet) -> None:
        with self.lock:
            for name, cam in cameras.cameras.items():
                state = cam.worker.state()
                self.snapshots[name] = state.snapshots
                self.workers[name] = id(cam.worker)
                self.states[name] = state.source_state
            for gone in set(self.snapshots) - set(cameras.cameras):
                self.snapshots.pop(gone)

    def count(self, name: str) -> int:
        with self.lock:
            return self.snapshots.get(name, -1)

    def wait(self, what: str, probe: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if probe():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; snapshots {self.snapshots} states {self.states}")


def rate(watch: Watch, names: list[str], seconds: float) -> dict[str, float]:
    before = {n: watch.count(n) for n in names}
    time.sleep(seconds)
    return {n: (watch.count(n) - before[n]) / seconds for n in names}


async def test_one_process_many_cameras_isolated_and_hot_reloaded(
    tmp_path: Path,
    rtsp_server: Callable[..., RtspServer],
    kube_server: KubeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kubernetes.config import kube_config

    monkeypatch.setenv("KUBECONFIG", str(kube_server.kubeconfig))
    # the client reads KUBECONFIG once, at import: another test may have imported it already
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(kube_server.kubeconfig))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    async with httpx.AsyncClient(base_url=kube_server.url) as api:
        for name in ("a", "b", "c", "d"):
            body = {"apiVersion": "camops.io/v1alpha1", "kind": "Camera", "metadata": {"name": name}}
            body["spec"] = {"source": {"url": "rtsp://x/y"}, "pool": "lobby"}
            created = await api.post("/apis/camops.io/v1alpha1/namespaces/site-a/cameras", json=body)
            assert created.status_code < 300, created.text
    await asyncio.to_thread(_scenario, tmp_path, rtsp_server, kube_server)


def _scenario(tmp_path: Path, rtsp_server: Callable[..., RtspServer], kube_server: KubeServer) -> None:
    shared = rtsp_server(gop=10, shared=True)
    lonely = rtsp_server(gop=10)
    port = free_port()
    path = tmp_path / "worker-0.json"
    cams = {
        "a": camera(tmp_path, "a", shared.url("/live")),
        "b": camera(tmp_path, "b", shared.url("/live")),
        "c": camera(tmp_path, "c", lonely.url("/live")),
        "d": camera(tmp_path, "d", shared.url("/live")),
    }
    write_contract(path, tmp_path, port, [cams["a"], cams["b"], cams["c"]])
    watch = Watch()
    stop = threading.Event()
    result: dict[str, int] = {}
    thread = threading.Thread(
        target=lambda: result.setdefault(
            "code",
            run_process(
                ContractFile(path), stop, status_interval_s=0.2, reload_interval_s=0.3, grace_s=10, on_pass=watch
            ),
        ),
        daemon=True,
    )
    thread.start()
    try:
        watch.wait("three cameras snapshotting", lambda: all(watch.count(n) >= 2 for n in "abc"), timeout=40)
        expected = 1 / INTERVAL_S
        steady = rate(watch, ["a", "b"], 4.0)

        # c's source dies: c backs off alone, a and b keep their rate
        lonely.stop()
        watch.wait("c disconnected", lambda: watch.states.get("c") != "connected", timeout=15)
        during = rate(watch, ["a", "b"], 4.0)
        cameras = httpx.get(f"http://127.0.0.1:{port}/cameras", timeout=5).json()
        health = {c["camera"]: c["healthy"] for c in cameras["cameras"]}
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        print(f"snapshots/s expected {expected:.1f}; steady {steady}; while c is down {during}; health {health}")
        for name in ("a", "b"):
            assert during[name] >= 0.5 * expected, f"{name} slowed down while c's source was dead"
        assert health == {"a": True, "b": True, "c": False}
        assert ready.status_code == 200, ready.text  # 2 of 3 healthy
        assert 'camops_capture_snapshots_total{camera="a"}' in metrics
        assert 'camops_capture_snapshots_total{camera="c"}' in metrics

        # hot reload: b leaves, d joins; a (untouched) keeps its worker and its rate
        a_worker = watch.workers["a"]
        b_before = watch.count("b")
        write_contract(path, tmp_path, port, [cams["a"], cams["c"], cams["d"]])
        reload_rate = rate(watch, ["a"], 3.0)
        watch.wait("d snapshotting", lambda: watch.count("d") >= 2, timeout=30)
        watch.wait("b gone", lambda: watch.count("b") == -1, timeout=15)
        print(f"a during reload: {reload_rate['a']:.2f}/s; b had {b_before} snapshots")
        assert watch.workers["a"] == a_worker, "an untouched camera was restarted by the reload"
        assert reload_rate["a"] >= 0.5 * expected

        # each camera's status reached its Camera, naming the worker that serves it
        def reported(name: str) -> dict[str, Any]:
            return (kube_server.get(CAMERAS, "site-a", name) or {}).get("status") or {}

        watch.wait("status of a and d", lambda: bool(reported("a").get("capture") and reported("d").get("capture")), 20)
        assert reported("a")["worker"] == "lobby-pool-0"
        assert reported("a")["capture"]["snapshots"] >= 2
    finally:
        stop.set()
        thread.join(timeout=30)
    assert result.get("code") == 0
    # what b captured before it left was kept and uploaded, none dropped
    b_files = [p for p in (tmp_path / "store").rglob("*.jpg") if "/b/" in str(p) and not p.name.startswith("latest")]
    print(f"b stored {len(b_files)} of {b_before}+ snapshots")
    assert len(b_files) >= b_before
    # a never missed a snapshot: not while c's source was dead, not while b and d came and went
    gaps = snapshot_gaps(tmp_path / "store", "a")
    print(f"a: {len(gaps) + 1} snapshots, largest gap {max(gaps):.2f}s (interval {INTERVAL_S}s)")
    assert max(gaps) < 2 * INTERVAL_S + 0.5, "a missed a snapshot"


def snapshot_gaps(store: Path, name: str) -> list[float]:
    """Seconds between consecutive stored snapshots of one camera (keys are <YYYY-MM>/<DD>/<HHMMSS.mmm>.jpg)."""
    times = []
    for path in store.rglob("*.jpg"):
        if f"/{name}/" not in str(path) or path.name.startswith("latest") or ".thumb" in path.name:
            continue
        stamp = f"{path.parent.parent.name}-{path.parent.name} {path.stem}"
        times.append(datetime.strptime(stamp, "%Y-%m-%d %H%M%S.%f").replace(tzinfo=UTC).timestamp())
    times.sort()
    return [b - a for a, b in itertools.pairwise(times)]


def test_a_pool_pod_serves_its_ordinals_file(tmp_path: Path, rtsp_server: Callable[..., RtspServer]) -> None:
    """``camops capture --pool-dir`` as the StatefulSet runs it: the pod name picks worker-<ordinal>.json."""
    server = rtsp_server(gop=10)
    port = free_port()
    write_contract(tmp_path / "worker-0.json", tmp_path, free_port(), [camera(tmp_path, "other", server.url())])
    one = camera(tmp_path, "mine", server.url())
    one.pop("report")
    write_contract(tmp_path / "worker-1.json", tmp_path, port, [one], worker="lobby-pool-1")
    camops = str(Path(sys.executable).with_name("camops"))
    env = {**os.environ, "CAMOPS_POD_NAME": "lobby-pool-1"}
    proc = subprocess.Popen(
        [camops, "capture", "--pool-dir", str(tmp_path), "--grace", "5"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        served: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not (served and served[0]["snapshots"] >= 1):
            assert proc.poll() is None, "camops capture exited early"
            with contextlib.suppress(httpx.HTTPError):
                served = httpx.get(f"http://127.0.0.1:{port}/cameras", timeout=1).json()["cameras"]
            time.sleep(0.2)
        assert [c["camera"] for c in served] == ["mine"]
        assert served[0]["snapshots"] >= 1
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b"worker stopped worker=lobby-pool-1" in err


def test_fifty_cameras_in_one_process(tmp_path: Path, rtsp_server: Callable[..., RtspServer]) -> None:
    """50 cameras on one shared mount, one worker process: every camera keeps its snapshot pace."""
    count, interval = 50, 2.0
    server = rtsp_server(gop=10, shared=True)
    path = tmp_path / "worker-0.json"
    cams = []
    for i in range(count):
        cam = camera(tmp_path, f"c{i:02d}", server.url("/live"))
        cam.pop("report")
        cam["source"]["session"] = "persistent"  # sessions opened per snapshot are not served on a shared mount
        cam["snapshots"]["interval_s"] = interval
        cams.append(cam)
    write_contract(path, tmp_path, 0, cams)
    watch = Watch()
    stop = threading.Event()
    thread = threading.Thread(
        target=run_process,
        args=(ContractFile(path), stop),
        kwargs={"serve_http": False, "report": False, "status_interval_s": 0.5, "grace_s": 10, "on_pass": watch},
        daemon=True,
    )
    started = time.monotonic()
    thread.start()
    try:
        watch.wait("every camera's first snapshot", lambda: all(watch.count(c["camera"]) >= 1 for c in cams), 60)
        first = time.monotonic() - started
        before = {c["camera"]: watch.count(c["camera"]) for c in cams}
        time.sleep(4 * interval)
        taken = {name: watch.count(name) - n for name, n in before.items()}
    finally:
        stop.set()
        thread.join(timeout=30)
    print(
        f"{count} cameras: all snapshotting after {first:.1f}s; per camera in {4 * interval:.0f}s: "
        f"min {min(taken.values())} max {max(taken.values())} (expected 4)"
    )
    assert min(taken.values()) >= 2, f"a camera fell behind: {sorted(taken.items(), key=lambda kv: kv[1])[:5]}"

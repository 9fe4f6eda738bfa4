"""Faults of the pooled worker runtime (one process, many cameras; ``camops capture --pool-dir``).

Real parts: GStreamer RTSP cameras, the real ``camops capture`` process (killed with SIGKILL),
its durable queue and a local store (made to fail for a while, so the queue holds items at the
kill); a bad contract written over the mounted one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from camops_workers.process import ContractFile, run_process
from camops_workers.queue.durable import DurableQueue
from tests.integration.capture.helpers import free_port
from tests.integration.capture.test_pool_process import INTERVAL_S, Watch, camera, snapshot_gaps, write_contract
from tests.servers.rtsp import RtspServer

pytestmark = pytest.mark.slow

NAMES = ("a", "b", "c")


def _cameras(port: int) -> dict[str, Any]:
    with contextlib.suppress(httpx.HTTPError, ValueError):
        return {c["camera"]: c for c in httpx.get(f"http://127.0.0.1:{port}/cameras", timeout=1).json()["cameras"]}
    return {}


def _start(tmp_path: Path) -> subprocess.Popen[bytes]:
    camops = str(Path(sys.executable).with_name("camops"))
    env = {**os.environ, "CAMOPS_POD_NAME": "lobby-pool-0"}
    return subprocess.Popen(
        [camops, "capture", "--pool-dir", str(tmp_path / "pool"), "--grace", "5"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _stored(store: Path) -> set[str]:
    return {"/".join(p.relative_to(store).parts) for p in store.rglob("*.jpg") if "latest" not in p.name}


def _queued(queue_dir: Path) -> set[str]:
    """Keys of the items the queue holds (acknowledged to the capture threads, not yet uploaded)."""
    db = sqlite3.connect(queue_dir / "queue.db")
    try:
        return {str(k) for (k,) in db.execute("SELECT key FROM items") if "latest" not in str(k)}
    finally:
        db.close()


def test_kill_9_of_a_pool_process_loses_nothing_it_acknowledged(
    tmp_path: Path, rtsp_server: Callable[..., RtspServer]
) -> None:
    server = rtsp_server(gop=10, shared=True)
    port = free_port()
    (tmp_path / "pool").mkdir()
    cams = []
    for name in NAMES:
        cam = camera(tmp_path, name, server.url("/live"))
        cam.pop("report")
        cams.append(cam)
    write_contract(tmp_path / "pool" / "worker-0.json", tmp_path, port, cams)
    store, queue_dir = tmp_path / "store", tmp_path / "queue"

    proc = _start(tmp_path)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc.poll() is None, "camops capture exited early"
            served = _cameras(port)
            if len(served) == 3 and all(c["snapshots"] >= 4 for c in served.values()):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"three cameras never snapshotted: {_cameras(port)}")
        # the store stops taking writes (a symlink loop: a transient error), so the queue holds what comes next
        for name in NAMES:
            (store / name).rename(store / f"{name}.held")
            (store / name).symlink_to(name)
        time.sleep(4 * INTERVAL_S)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    killed_at = time.monotonic()
    for name in NAMES:
        (store / name).unlink()
        (store / f"{name}.held").rename(store / name)
    stored_before = _stored(store)  # uploaded (maybe not yet acked: then it is queued too)
    queued = _queued(queue_dir)
    queue = DurableQueue(queue_dir)
    stats = queue.stats()
    queue.close()
    acknowledged = stored_before | queued
    assert stored_before, "nothing was uploaded before the kill"
    assert len(queued) >= 3, "the queue held nothing when the process was killed"

    proc = _start(tmp_path)
    resumed: dict[str, float] = {}
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(resumed) < 3:
            assert proc.poll() is None, "camops capture exited after the restart"
            for name, cam in _cameras(port).items():
                if cam["snapshots"] >= 1 and name not in resumed:
                    resumed[name] = time.monotonic() - killed_at
            time.sleep(0.1)
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline and not acknowledged <= _stored(store):
            time.sleep(0.2)
        after = _stored(store)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lost = acknowledged - after
    print(
        f"acknowledged before kill -9: {len(acknowledged)} ({len(stored_before)} stored, {len(queued)} queued; "
        f"queue stats uploaded={stats.uploaded} depth={stats.depth}); in store after restart: "
        f"{len(acknowledged & after)}, lost {len(lost)}; seconds from kill to first snapshot: "
        f"{ {n: round(s, 1) for n, s in sorted(resumed.items())} }; store holds {len(after)} snapshots in all"
    )
    assert not lost, f"acknowledged items lost by kill -9: {sorted(lost)[:5]}"
    assert sorted(resumed) == list(NAMES), f"cameras that never resumed: {set(NAMES) - set(resumed)}"
    assert max(resumed.values()) < 20, "a camera took too long to resume"
    assert len(after) > len(acknowledged), "nothing new was stored after the restart"
    assert proc.returncode == 0, err.decode()[-2000:]


def test_a_bad_contract_keeps_the_running_cameras(tmp_path: Path, rtsp_server: Callable[..., RtspServer]) -> None:
    server = rtsp_server(gop=10, shared=True)
    port = free_port()
    path = tmp_path / "worker-0.json"
    cams = {}
    for name in ("a", "b"):
        cams[name] = camera(tmp_path, name, server.url("/live"))
        cams[name].pop("report")
    write_contract(path, tmp_path, port, [cams["a"], cams["b"]])
    valid = path.read_text()
    watch = Watch()
    stop = threading.Event()
    result: dict[str, int] = {}
    thread = threading.Thread(
        target=lambda: result.setdefault(
            "code",
            run_process(
                ContractFile(path),
                stop,
                report=False,
                status_interval_s=0.2,
                reload_interval_s=0.3,
                grace_s=10,
                on_pass=watch,
            ),
        ),
        daemon=True,
    )
    thread.start()
    errors: dict[str, str | None] = {}
    try:
        watch.wait("two cameras snapshotting", lambda: all(watch.count(n) >= 2 for n in "ab"), timeout=30)
        workers = dict(watch.workers)

        def served_error() -> str | None:
            doc = httpx.get(f"http://127.0.0.1:{port}/cameras", timeout=5).json()
            return doc["contract_error"]  # type: ignore[no-any-return]

        # a half-written file (not swapped atomically): truncated JSON
        path.write_text(valid[: len(valid) // 2])
        watch.wait("truncated contract reported", lambda: served_error() is not None, timeout=10)
        errors["truncated"] = served_error()
        time.sleep(1.0)
        # a valid JSON file whose camera b snapshots every "0s"
        zero = json.loads(valid)
        zero["cameras"][1]["snapshots"]["interval_s"] = 0
        path.write_text(json.dumps(zero))
        watch.wait("zero interval reported", lambda: "interval_s" in (served_error() or ""), timeout=10)
        errors["zero"] = served_error()
        time.sleep(1.0)
        kept = watch.workers == workers and all(t.is_alive() for t in threading.enumerate() if "capture-" in t.name)
        counts = {n: watch.count(n) for n in "ab"}
        # the next valid file applies: b leaves
        write_contract(path, tmp_path, port, [cams["a"]])
        watch.wait("b removed", lambda: watch.count("b") == -1, timeout=15)
        errors["valid"] = served_error()
        time.sleep(1.0)
    finally:
        stop.set()
        thread.join(timeout=30)
    gaps = snapshot_gaps(tmp_path / "store", "a")
    print(
        f"errors served: {errors}; cameras kept their workers through both bad files: {kept}; "
        f"snapshots by then {counts}; a: {len(gaps) + 1} snapshots, largest gap {max(gaps):.2f}s "
        f"(interval {INTERVAL_S}s)"
    )
    assert result.get("code") == 0
    assert errors["truncated"], "the truncated contract was not reported"
    assert "interval_s" in str(errors["zero"])
    assert errors["valid"] is None
    assert kept, "a bad contract restarted or stopped a running camera"
    assert max(gaps) < 2 * INTERVAL_S + 0.5, "a missed snapshots while bad contracts were mounted"

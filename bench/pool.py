"""Pool worker benchmark: memory per added camera in one process vs one process per camera.

Run: ``.venv/bin/python bench/pool.py [--quick]``. A GStreamer RTSP server streams 1080p (GOP 2 s,
one shared encoder); every camera holds its own session (persistent: the upper bound of memory per
camera, as recording cameras need; gst-rtsp-server cannot serve sessions opened per snapshot on a
shared media) and takes one snapshot per 10 s:

- rss_mb_one_process: peak RSS (VmHWM) of one ``camops capture`` process serving one camera
  (a Camera with its own Deployment): what every camera costs without a pool;
- rss_mb_pool_small / rss_mb_pool_large: peak RSS of one pool process (``camops capture`` on a
  process contract) serving SMALL and LARGE cameras;
- rss_mb_marginal_per_camera_pooled: (large − small) ÷ (LARGE − SMALL);
- process_vs_pooled_ratio: rss_mb_one_process ÷ rss_mb_marginal_per_camera_pooled (how many
  pooled cameras fit in the memory of one camera's own process);
- cameras_per_core_pooled: LARGE ÷ the CPU (cores) of the LARGE pool process after its warm-up;
- snapshots_*: snapshots stored in each run (a run that stored nothing measured nothing).

Both are measured in this run. The last line of output is one JSON object with these figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from camops_workers.contract import ProcessConfig, WorkerConfig  # noqa: E402
from tests.servers.rtsp import RtspServer  # noqa: E402

INTERVAL_S = 10.0


def camera(name: str, url: str, work: Path) -> dict[str, Any]:
    return {
        "camera": name,
        "source": {"url": url, "stall_timeout_s": 15.0, "session": "persistent"},
        "snapshots": {"interval_s": INTERVAL_S, "quality": 85},
        "storage": {"kind": "local", "directory": str(work / "store")},
        "queue": {"directory": str(work / "queue"), "uploaders": 1},
        "http_host": "127.0.0.1",
        "http_port": 0,
        "log_level": "WARNING",
    }


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


WARMUP_S = 8.0  # imports, RTSP handshakes, first snapshots: not counted in the CPU figure


def run(contract: dict[str, Any], work: Path, seconds: float) -> tuple[float, int, float]:
    """Run ``camops capture`` on ``contract`` for ``seconds``: (peak RSS MB, snapshots stored,
    CPU seconds per second after the warm-up)."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / "contract.json"
    path.write_text(json.dumps(contract))
    camops = str(Path(sys.executable).with_name("camops"))
    proc = subprocess.Popen([camops, "capture", "--config", str(path), "--no-http"], stderr=subprocess.DEVNULL)
    try:
        handle = psutil.Process(proc.pid)
        time.sleep(WARMUP_S)
        cpu0, t0 = sum(handle.cpu_times()[:2]), time.monotonic()
        time.sleep(seconds - WARMUP_S)
        assert proc.poll() is None, "camops capture exited early"
        cores = (sum(handle.cpu_times()[:2]) - cpu0) / (time.monotonic() - t0)
        rss = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(60)
    shots = sum(1 for p in work.rglob("*.jpg") if not p.name.startswith("latest."))
    return rss, shots, cores


def pooled(url: str, work: Path, count: int) -> dict[str, Any]:
    cameras = [WorkerConfig.model_validate(camera(f"cam{i}", url, work)) for i in range(count)]
    config = ProcessConfig(
        cameras=cameras,
        queue=cameras[0].queue,
        storage=cameras[0].storage,
        http_host="127.0.0.1",
        http_port=0,
        log_level="WARNING",
    )
    return config.model_dump(mode="json")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer cameras, shorter runs (about a minute)")
    args = parser.parse_args()
    small, large = (2, 8) if args.quick else (10, 40)
    seconds = 25.0 if args.quick else 45.0  # at least two snapshots per camera after the start
    stream = {"width": 1920, "height": 1080, "fps": 25, "gop": 50, "bitrate": 4000, "pattern": "smpte"}
    server = RtspServer(**stream, shared=True).start()
    results: dict[str, Any] = {"quick": args.quick, "cameras_small": small, "cameras_large": large}
    try:
        with tempfile.TemporaryDirectory(prefix="camops-bench-pool-") as tmp:
            work = Path(tmp)
            url = server.url("/live")
            one, shots_one, _ = run(camera("solo", url, work / "one"), work / "one", seconds)
            rss_small, shots_small, _ = run(pooled(url, work / "small", small), work / "small", seconds)
            rss_large, shots_large, cores_large = run(pooled(url, work / "large", large), work / "large", seconds)
    finally:
        server.stop()
    if not (shots_one and shots_small >= small and shots_large >= large):
        print(f"runs stored too few snapshots ({shots_one}, {shots_small}, {shots_large}): nothing measured")
        return 1
    marginal = (rss_large - rss_small) / (large - small)
    results.update(
        rss_mb_one_process=round(one, 1),
        rss_mb_pool_small=round(rss_small, 1),
        rss_mb_pool_large=round(rss_large, 1),
        rss_mb_marginal_per_camera_pooled=round(marginal, 1),
        process_vs_pooled_ratio=round(one / marginal, 2) if marginal > 0 else None,
        cameras_per_core_pooled=round(large / cores_large, 1) if cores_large > 0 else None,
        snapshots_one=shots_one,
        snapshots_small=shots_small,
        snapshots_large=shots_large,
    )
    print(f"1080p, one snapshot per {INTERVAL_S:.0f} s, persistent sessions, {seconds:.0f} s per run")
    print(f"{'run':<34}{'cameras':>8}{'peak RSS MB':>13}{'snapshots':>11}")
    print(f"{'one process per camera':<34}{1:>8}{one:>13.1f}{shots_one:>11}")
    print(f"{'one pool process':<34}{small:>8}{rss_small:>13.1f}{shots_small:>11}")
    print(f"{'one pool process':<34}{large:>8}{rss_large:>13.1f}{shots_large:>11}")
    print(f"marginal RSS per pooled camera: {marginal:.1f} MB; one camera's own process ÷ that: {one / marginal:.1f}x")
    print(f"CPU of the {large}-camera process: {cores_large:.3f} cores, {large / cores_large:.1f} cameras per core")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Capture worker benchmark: CPU per snapshot, keyframe gating, JPEG path, cameras per core, memory, session crossover.

Run: ``.venv/bin/python bench/capture.py [--quick]``. Everything is measured in this run on one
generated 1080p H.264 clip (GOP 2 s, no B-frames like IP cameras) and on a GStreamer RTSP server
streaming 1080p (GOP 2 s):

- spawn_vs_worker_1s: CPU per snapshot of ``ffmpeg -ss T -i clip -frames:v 1 out.jpg`` per snapshot
  ÷ the worker's CPU per snapshot, the worker running on the clip (``file://``, real time) at 1/s;
- gated_vs_full_10s: CPU of the worker's keyframe-gated path ÷ a session decoding every frame,
  1 snapshot per 10 s of video (both fed the clip's packets at full speed);
- frames_decoded_per_snapshot_1s (and ``_bframes``, on the same scene with 3 B-frames): pictures
  the gated path decodes per snapshot at 1/s on a 2 s GOP (50 frames), the clip's packets replayed;
- jpeg_speedup: ``frame.to_image()`` + Pillow ms ÷ our YUV-plane JPEG ms, 1080p frame;
- http_snapshot_ms / http_snapshot_ms_two_decodes / http_snapshot_one_vs_two_decodes: CPU ms an HTTP
  camera's 1080p JPEG costs the worker (check, ``latest.thumb.jpg``, picture health's luma and its
  judgement): one DCT-scaled decode for both thumbnails ÷ the former decode for each (median of
  interleaved runs; ``--only http`` runs just this);
- cameras_per_core: K ``camops capture`` processes on K RTSP sessions, 1 snapshot/10 s → 1 / cores per camera
  (default session choice, i.e. a session per snapshot at 10 s; ``cameras_per_core_persistent`` keeps one open);
- rss_mb_per_camera: peak RSS (VmHWM) of one ``camops capture`` process at 1080p;
- session_crossover_s: the interval above which a session opened per snapshot is the better choice
  (nothing recorded): it must cost less CPU — (CPU per per-snapshot session − CPU per gated snapshot)
  ÷ persistent session CPU per second — and fit in the interval (session wall time + one GOP of
  keyframe wait, as cameras that do not send a keyframe to a joining client need).

The last line of output is one JSON object with these figures.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from camops_workers.capture.jpeg import encode_frame  # noqa: E402
from camops_workers.capture.worker import CaptureWorker  # noqa: E402
from camops_workers.contract import WorkerConfig  # noqa: E402
from camops_workers.items import Capture  # noqa: E402
from tests.servers.rtsp import RtspServer  # noqa: E402

WIDTH, HEIGHT, FPS, GOP = 1920, 1080, 25, 50


class CountingSink:
    """Keeps only counts: the benchmark measures capture, not the queue's fsyncs."""

    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0

    def put(self, capture: Capture) -> str:
        self.count += 1
        self.bytes += len(capture.data or b"")
        return str(self.count)


def make_clip(path: Path, seconds: float, b_frames: int = 0) -> Path:
    """1080p H.264, GOP 2 s, like a fixed camera: a detailed static scene, a moving object, mild sensor noise.

    No B-frames by default, as IP cameras send (I and P frames only): every frame is a reference,
    so a snapshot due between keyframes needs every frame since the last keyframe decoded. With
    ``b_frames`` (x264's default pyramid) the non-reference B-frames can be skipped.
    """
    out = av.open(str(path), "w", format="mp4")
    stream: Any = out.add_stream("libx264", rate=FPS)
    stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    stream.codec_context.gop_size = GOP
    stream.codec_context.options = {
        "preset": "veryfast",
        "keyint_min": str(GOP),
        "sc_threshold": "0",
        "crf": "23",
        "bf": str(b_frames),
    }
    rng = np.random.default_rng(7)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    scene = np.stack(
        [
            110 + 60 * np.sin(xs / 37.0) * np.cos(ys / 23.0),
            120 + 50 * np.sin((xs + ys) / 51.0),
            100 + 40 * np.cos(xs / 13.0 + ys / 97.0),
        ],
        axis=-1,
    )
    blocks = rng.integers(-40, 40, size=(-(-HEIGHT // 16), WIDTH // 16, 1)).astype(np.float32)
    scene += np.kron(blocks, np.ones((16, 16, 1), dtype=np.float32))[:HEIGHT]
    scene_u8 = np.clip(scene, 0, 253).astype(np.uint8)
    noise = [rng.integers(0, 3, size=scene_u8.shape, dtype=np.uint8) for _ in range(5)]
    for k in range(int(seconds * FPS)):
        image = scene_u8 + noise[k % len(noise)]
        x = (k * 12) % (WIDTH - 240)
        image[600:840, x : x + 240] = (200, 40, 40)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = k
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)
    out.close()
    return path


def config_for(url: str, work: Path, *, interval: float, session: str = "persistent", **extra: Any) -> WorkerConfig:
    data: dict[str, Any] = {
        "camera": "bench",
        "source": {"url": url, "session": session, "stall_timeout_s": 10.0},
        "snapshots": {"interval_s": interval, "quality": 85},
        "storage": {"kind": "local", "directory": str(work / "store")},
        "queue": {"directory": str(work / "queue"), "uploaders": 1},
        "http_host": "127.0.0.1",
        "http_port": 0,
        "log_level": "WARNING",
    }
    data.update(extra)
    return WorkerConfig.model_validate(data)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_spawn(clip: Path, work: Path, count: int) -> float:
    """CPU seconds per snapshot of one ffmpeg process per snapshot."""
    before = children_cpu()
    for i in range(count):
        subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-ss",
                str(1 + i),
                "-i",
                str(clip),
                "-frames:v",
                "1",
                "-q:v",
                "3",
                "-y",
                str(work / "spawn.jpg"),
            ],
            check=True,
        )
    return (children_cpu() - before) / count


def run_worker_for(config: WorkerConfig, seconds: float, warmup: float = 0.0) -> tuple[float, int, CaptureWorker]:
    """Run a CaptureWorker in this process; returns (CPU seconds after warm-up, snapshots after warm-up, worker)."""
    sink = CountingSink()
    worker = CaptureWorker(config, sink)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    time.sleep(warmup)
    cpu0, shots0 = time.process_time(), sink.count
    time.sleep(seconds)
    cpu = time.process_time() - cpu0
    shots = sink.count - shots0
    stop.set()
    thread.join(20)
    return cpu, shots, worker


def bench_worker_file(clip: Path, work: Path, seconds: float) -> float:
    """CPU seconds per snapshot of the worker on the clip in real time at 1 snapshot/s."""
    config = config_for(f"file://{clip}", work, interval=1.0)
    cpu, shots, _ = run_worker_for(config, seconds, warmup=2.0)
    return cpu / max(1, shots)


def bench_gated_vs_full(clip: Path, passes: int, interval: float = 10.0) -> tuple[float, float, int]:
    """CPU per snapshot of the gated path and of decode-everything over the same packets (1 per ``interval`` s)."""
    config = config_for(f"file://{clip}", Path(tempfile.gettempdir()), interval=interval)

    def looped(container: Any, stream: Any) -> Any:
        offset = 0
        for _ in range(passes):
            container.seek(0)
            span = 0
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                span = max(span, packet.pts + (packet.duration or 0))
                packet.pts += offset
                if packet.dts is not None:
                    packet.dts += offset
                yield packet
            offset += span

    sink = CountingSink()
    worker = CaptureWorker(config, sink)
    with av.open(str(clip)) as container:
        stream: Any = container.streams.video[0]
        stream.codec_context.thread_count = 1
        cpu0 = time.process_time()
        worker.replay(stream, looped(container, stream), datetime.now(UTC))
        gated = time.process_time() - cpu0
    gated_shots = sink.count

    full_shots = 0
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        decoder: Any = stream.codec_context
        decoder.thread_count = 1
        next_due = 0.0
        cpu0 = time.process_time()
        for packet in looped(container, stream):
            t = float(packet.pts * stream.time_base)
            for frame in decoder.decode(packet):
                if t >= next_due:
                    encode_frame(frame, 85)
                    full_shots += 1
                    next_due += interval
        full = time.process_time() - cpu0
    return gated / max(1, gated_shots), full / max(1, full_shots), gated_shots


def bench_frames_per_snapshot(clip: Path, interval: float) -> float:
    """Pictures decoded per gated snapshot over the clip's packets (1 per ``interval`` s of video)."""
    config = config_for(f"file://{clip}", Path(tempfile.gettempdir()), interval=interval)
    sink = CountingSink()
    worker = CaptureWorker(config, sink)
    with av.open(str(clip)) as container:
        stream: Any = container.streams.video[0]
        stream.codec_context.thread_count = 1
        worker.replay(stream, container.demux(stream), datetime.now(UTC))
    decoded = worker.metrics.registry.get_sample_value("camops_capture_frames_decoded_total", {"camera": "bench"})
    return (decoded or 0.0) / max(1, sink.count)


def bench_jpeg(clip: Path, rounds: int) -> tuple[float, float]:
    """CPU ms (all threads: swscale may use several) of to_image()+Pillow and of our JPEG path."""
    with av.open(str(clip)) as container:
        frame = next(container.decode(video=0))
    ours, pillow = [], []
    for _ in range(rounds):
        t = time.process_time()
        encode_frame(frame, 85)
        ours.append(time.process_time() - t)
        t = time.process_time()
        buffer = io.BytesIO()
        image: Any = frame.to_image()  # type: ignore[no-untyped-call]
        image.save(buffer, format="JPEG", quality=85)
        pillow.append(time.process_time() - t)
    return statistics.median(pillow) * 1000, statistics.median(ours) * 1000


def spawn_capture(config: WorkerConfig, path: Path) -> subprocess.Popen[bytes]:
    path.write_text(json.dumps(config.model_dump(mode="json")))
    camops = str(Path(sys.executable).with_name("camops"))
    return subprocess.Popen([camops, "capture", "--config", str(path), "--no-http"], stderr=subprocess.DEVNULL)


def bench_fleet(
    server: RtspServer, work: Path, cameras: int, seconds: float, session: str = "auto"
) -> tuple[float, float, int]:
    """K worker processes on K RTSP sessions at 1 snapshot/10 s: (cameras per core, peak RSS MB, snapshots)."""
    procs = []
    for i in range(cameras):
        cam_dir = work / f"cam{i}"
        cam_dir.mkdir(parents=True, exist_ok=True)
        config = config_for(server.url("/live"), cam_dir, interval=10.0, session=session, camera=f"cam{i}")
        procs.append(spawn_capture(config, cam_dir / "worker.json"))
    handles = [psutil.Process(p.pid) for p in procs]
    time.sleep(6.0)  # imports, RTSP handshake, first snapshot
    cpu0 = [sum(h.cpu_times()[:2]) for h in handles]
    time.sleep(seconds)
    cpu = [sum(h.cpu_times()[:2]) - c for h, c in zip(handles, cpu0, strict=True)]
    rss = []
    for h in handles:
        with open(f"/proc/{h.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    rss.append(int(line.split()[1]) / 1024)
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(30)
    snapshots = sum(1 for _ in work.rglob("*.jpg") if _.name != "latest.jpg")
    cores_per_camera = statistics.mean(cpu) / seconds
    return 1.0 / cores_per_camera, max(rss), snapshots


def bench_crossover(server: RtspServer, own: RtspServer, work: Path, seconds: float, opens: int) -> dict[str, float]:
    """On the 1080p RTSP stream: persistent CPU/s (P), CPU per gated snapshot (D), CPU per per-snapshot session (O).

    Per snapshot at interval T a persistent session costs P*T + D, a session per snapshot O:
    the crossover is T* = (O - D) / P.
    """
    idle = config_for(server.url("/live"), work / "p", interval=3600.0)
    cpu, _, _ = run_worker_for(idle, seconds, warmup=4.0)
    per_second = cpu / seconds
    busy = config_for(server.url("/live"), work / "b", interval=2.0)
    cpu2, shots, _ = run_worker_for(busy, seconds, warmup=4.0)
    per_gated = max(0.0, (cpu2 - per_second * seconds) / max(1, shots))
    # Back to back (interval shorter than a session): wall per snapshot = one session's duration.
    per_snap = config_for(own.url("/live"), work / "s", interval=0.1, session="per_snapshot")
    sink = CountingSink()
    worker = CaptureWorker(per_snap, sink)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    cpu0, wall0 = time.process_time(), time.monotonic()
    thread.start()
    deadline = time.monotonic() + opens * 6 + 10
    while sink.count < opens and time.monotonic() < deadline:
        time.sleep(0.05)
    wall = (time.monotonic() - wall0) / max(1, sink.count)
    stop.set()
    thread.join(20)
    per_open = (time.process_time() - cpu0) / max(1, sink.count)
    cpu_crossover = max(0.0, per_open - per_gated) / per_second if per_second > 0 else float("inf")
    return {
        "persistent_cpu_ms_per_s": per_second * 1000,
        "gated_snapshot_cpu_ms_rtsp": per_gated * 1000,
        "per_snapshot_session_cpu_ms": per_open * 1000,
        "per_snapshot_session_wall_s": wall,
        "session_cpu_crossover_s": cpu_crossover,
        # A session per snapshot must also fit in the interval: its handshake plus, for a camera that
        # does not send a keyframe when a client joins (this test server does), up to one GOP of waiting.
        "session_crossover_s": max(cpu_crossover, wall + GOP / FPS),
    }


def bench_http_snapshot(runs: int) -> tuple[float, float]:
    """CPU ms per HTTP snapshot of a 1080p JPEG: (one decode for both thumbnails, a decode for each)."""
    import numpy as np
    import simplejpeg

    from camops_workers.capture.jpeg import inspect_jpeg, thumbnail_from_jpeg, thumbnails_from_jpeg
    from camops_workers.picture import PictureJudge
    from camops_workers.picture import thumbnail_from_jpeg as luma_from_jpeg
    from tests.servers.pictures import Scene

    scene = Scene(WIDTH, HEIGHT)
    u = np.full((HEIGHT // 2, WIDTH // 2), 110, np.uint8)
    v = np.full((HEIGHT // 2, WIDTH // 2), 150, np.uint8)
    jpegs = [bytes(simplejpeg.encode_jpeg_yuv_planes(scene.luma(float(i)), u, v, quality=85)) for i in range(4)]
    judges = (PictureJudge(), PictureJudge())
    at = datetime(2026, 1, 1, tzinfo=UTC)

    def once(data: bytes) -> None:
        inspect_jpeg(data)
        _, picture = thumbnails_from_jpeg(data, judged=True)
        assert picture is not None
        judges[0].observe(picture, at)

    def twice(data: bytes) -> None:
        inspect_jpeg(data)
        thumbnail_from_jpeg(data)
        judges[1].observe(luma_from_jpeg(data), at)

    one: list[float] = []
    two: list[float] = []
    for i in range(runs):  # interleaved: a load on the machine weighs on both alike
        data = jpegs[i % len(jpegs)]
        for fn, out in ((once, one), (twice, two)):
            start = time.process_time()
            fn(data)
            out.append((time.process_time() - start) * 1000)
    return statistics.median(one), statistics.median(two)


def _http_results(runs: int) -> dict[str, float]:
    one, two = bench_http_snapshot(runs)
    print(
        f"HTTP snapshot 1080p JPEG CPU: one decode {one:6.2f} ms, a decode per thumbnail {two:6.2f} ms   "
        f"ratio {one / two:.2f}"
    )
    return {
        "http_snapshot_ms": round(one, 2),
        "http_snapshot_ms_two_decodes": round(two, 2),
        "http_snapshot_one_vs_two_decodes": round(one / two, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (under about 2 minutes)")
    parser.add_argument("--only", choices=["http"], help="run one section only")
    args = parser.parse_args()
    quick = args.quick
    clip_s = 10.0 if quick else 20.0
    results: dict[str, Any] = {"quick": quick}
    if args.only == "http":
        results.update(_http_results(100 if quick else 400))
        print(json.dumps(results))
        return 0
    with tempfile.TemporaryDirectory(prefix="camops-bench-") as tmp:
        work = Path(tmp)
        t0 = time.monotonic()
        clip = make_clip(work / "clip.mp4", clip_s)
        print(
            f"clip: {WIDTH}x{HEIGHT} {FPS} fps GOP {GOP / FPS:.0f}s, {clip_s:.0f}s, "
            f"made in {time.monotonic() - t0:.1f}s"
        )

        spawn = bench_spawn(clip, work, 6 if quick else 15)
        worker_1s = bench_worker_file(clip, work / "w1", 8.0 if quick else 20.0)
        results["spawn_cpu_ms"] = round(spawn * 1000, 1)
        results["worker_cpu_ms_per_snapshot_1s"] = round(worker_1s * 1000, 1)
        results["spawn_vs_worker_1s"] = round(spawn / worker_1s, 2)
        print(f"ffmpeg spawn per snapshot     {spawn * 1000:8.1f} ms CPU")
        print(f"worker per snapshot at 1/s    {worker_1s * 1000:8.1f} ms CPU   ratio {spawn / worker_1s:.1f}x")

        gated, full, shots = bench_gated_vs_full(clip, 2 if quick else 4)
        results["gated_cpu_ms_per_snapshot_10s"] = round(gated * 1000, 1)
        results["full_decode_cpu_ms_per_snapshot_10s"] = round(full * 1000, 1)
        results["gated_vs_full_10s"] = round(gated / full, 4)
        print(f"gated per 10 s of video       {gated * 1000:8.1f} ms CPU   ({shots} snapshots)")
        print(f"decode-all per 10 s of video  {full * 1000:8.1f} ms CPU   ratio {gated / full:.3f}")

        gated2, _, _ = bench_gated_vs_full(clip, 1, interval=2.0)
        results["worker_cpu_ms_per_snapshot_2s"] = round(gated2 * 1000, 1)
        results["spawn_vs_worker_2s"] = round(spawn / gated2, 2)
        print(
            f"worker per snapshot at 1/2s   {gated2 * 1000:8.1f} ms CPU   ratio {spawn / gated2:.1f}x (interval = GOP)"
        )

        clip_b = make_clip(work / "clip-b.mp4", clip_s, b_frames=3)
        per_shot = bench_frames_per_snapshot(clip, 1.0)
        per_shot_b = bench_frames_per_snapshot(clip_b, 1.0)
        results["frames_decoded_per_snapshot_1s"] = round(per_shot, 1)
        results["frames_decoded_per_snapshot_1s_bframes"] = round(per_shot_b, 1)
        print(
            f"pictures decoded per snapshot at 1/s: {per_shot:.1f} (I/P only), {per_shot_b:.1f} "
            f"(3 B-frames, non-reference ones skipped); {GOP} frames per GOP"
        )

        pil_ms, ours_ms = bench_jpeg(clip, 5 if quick else 15)
        results["jpeg_pillow_ms"] = round(pil_ms, 2)
        results["jpeg_ours_ms"] = round(ours_ms, 2)
        results["jpeg_speedup"] = round(pil_ms / ours_ms, 2)
        print(
            f"JPEG 1080p CPU: to_image+Pillow {pil_ms:6.1f} ms, YUV planes {ours_ms:6.1f} ms   {pil_ms / ours_ms:.1f}x"
        )

        results.update(_http_results(100 if quick else 400))

        stream = {"width": WIDTH, "height": HEIGHT, "fps": FPS, "gop": GOP, "bitrate": 4000, "pattern": "smpte"}
        # One encoder shared by the persistent sessions; sessions opened per snapshot get a pipeline each
        # (gst-rtsp-server 1.22 aborts when clients join and leave a shared media concurrently).
        server = RtspServer(**stream, shared=True).start()
        own = RtspServer(**stream).start()
        try:
            cameras = 4 if quick else 8
            fleet_s = 15.0 if quick else 60.0
            per_core, rss_mb, fleet_shots = bench_fleet(own, work / "fleet", cameras, fleet_s)
            results["cameras_per_core"] = round(per_core, 1)
            results["fleet_cameras"] = cameras
            results["fleet_seconds"] = fleet_s
            print(
                f"fleet (default: session per snapshot at 10 s): {cameras} worker processes x {fleet_s:.0f}s on "
                f"1080p RTSP: {per_core:.1f} cameras per core, peak RSS {rss_mb:.1f} MB, "
                f"{fleet_shots} snapshots uploaded"
            )
            per_core_p, rss_p, shots_p = bench_fleet(server, work / "fleet-p", cameras, fleet_s, "persistent")
            results["cameras_per_core_persistent"] = round(per_core_p, 1)
            results["rss_mb_per_camera"] = round(max(rss_mb, rss_p), 1)
            print(
                f"fleet (persistent session): {per_core_p:.1f} cameras per core, peak RSS {rss_p:.1f} MB, "
                f"{shots_p} snapshots uploaded"
            )
            cross = bench_crossover(server, own, work / "cross", 8.0 if quick else 20.0, 3 if quick else 6)
        finally:
            server.stop()
            own.stop()
        results.update({k: round(v, 2) for k, v in cross.items()})
        print(
            f"RTSP 1080p: persistent session {cross['persistent_cpu_ms_per_s']:.1f} ms CPU/s, gated snapshot "
            f"{cross['gated_snapshot_cpu_ms_rtsp']:.1f} ms, session per snapshot "
            f"{cross['per_snapshot_session_cpu_ms']:.1f} ms CPU, {cross['per_snapshot_session_wall_s']:.2f} s wall "
            f"-> CPU crossover {cross['session_cpu_crossover_s']:.1f} s, crossover {cross['session_crossover_s']:.1f} s"
        )
        print(f"total {time.monotonic() - t0:.0f}s on {os.cpu_count()} CPUs")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

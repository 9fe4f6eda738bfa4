"""Picture-health benchmark: cost per snapshot, false alarms on healthy scenes, snapshots to detection.

Run: ``.venv/bin/python bench/health.py [--quick]``. Pictures are the synthetic scenes of
tests/servers/pictures.py (a textured street with sensor noise, light that changes, the faults).

- health_ms_per_snapshot: thumbnail from a 1080p Y plane + every measure + the state decision,
  median ms (goal <= 1.0); ``health_vs_jpeg`` divides it by the same run's JPEG encode of that
  1080p picture (libjpeg-turbo from the planes), the cost a snapshot already pays;
- health_jpeg_ms_per_snapshot: the same from a 1080p JPEG (HTTP cameras: DCT-scaled luma decode);
- health_false_alarms_10min: faults reported over ten minutes of healthy pictures (one snapshot
  every 2 s) summed over the normal-scene matrix: noise 1/3/6 levels, night, day to night, a
  passing truck (goal 0);
- health_detect_snapshots_max: worst number of snapshots from the start of a fault to its report
  over the faults x (day, quiet, day-to-night) matrix (goal <= 5); ``health_missed`` counts faults
  never reported within 20 snapshots.

The last line of output is one JSON object with these figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import simplejpeg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from camops_workers.picture import PictureJudge, PictureState, thumbnail_from_jpeg, thumbnail_from_luma  # noqa: E402
from tests.servers.pictures import Scene  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EXPECTED = {
    "freeze": PictureState.FROZEN,
    "black": PictureState.BLACK,
    "uniform": PictureState.UNIFORM,
    "blur": PictureState.BLURRED,
    "scene": PictureState.SCENE_CHANGED,
}


def _ms_per_snapshot(runs: int) -> tuple[float, float, float]:
    scene = Scene(1920, 1080)
    planes = [scene.luma(float(i)) for i in range(4)]
    chroma = np.full((540, 960), 128, np.uint8)
    jpegs = [bytes(simplejpeg.encode_jpeg_yuv_planes(p, chroma, chroma, quality=85)) for p in planes]
    judge = PictureJudge()
    health, from_jpeg, encode = [], [], []
    for i in range(runs):
        plane = planes[i % len(planes)]
        at = T0 + timedelta(seconds=i)
        started = time.perf_counter()
        judge.observe(thumbnail_from_luma(plane), at)
        health.append(time.perf_counter() - started)
        started = time.perf_counter()
        judge.observe(thumbnail_from_jpeg(jpegs[i % len(jpegs)]), at)
        from_jpeg.append(time.perf_counter() - started)
        started = time.perf_counter()
        simplejpeg.encode_jpeg_yuv_planes(plane, chroma, chroma, quality=85)
        encode.append(time.perf_counter() - started)
    return (statistics.median(health) * 1000, statistics.median(from_jpeg) * 1000, statistics.median(encode) * 1000)


def _passing_truck(scene: Scene, t: float) -> Any:
    luma = np.array(scene.luma(t))
    phase = t % 120.0
    if phase < 40.0:  # every two minutes a truck crosses in 40 s
        x = int(phase / 40.0 * scene.width)
        luma[scene.height // 3 : scene.height * 2 // 3, x : x + scene.width // 5] = 40
    return luma


def _false_alarms(snapshots: int, step_s: float) -> dict[str, int]:
    matrix = {
        "noise1": Scene(640, 360, noise=1.0, seed=2),
        "noise3": Scene(640, 360, noise=3.0, seed=3),
        "noise6": Scene(640, 360, noise=6.0, seed=4),
        "night": Scene(640, 360, day=0.25, night=0.25, seed=5),
        "day-night": Scene(640, 360, day=1.0, night=0.2, period_s=2 * snapshots * step_s, seed=6),
        "truck": Scene(640, 360, seed=7),
    }
    alarms = {}
    for name, scene in matrix.items():
        judge = PictureJudge()
        count = 0
        for i in range(snapshots):
            t = i * step_s
            luma = _passing_truck(scene, t) if name == "truck" else scene.luma(t)
            verdict = judge.observe(thumbnail_from_luma(luma), T0 + timedelta(seconds=t))
            if verdict.transition is not None and verdict.state != PictureState.HEALTHY:
                count += 1
        alarms[name] = count
    return alarms


def _detection(step_s: float = 2.0, limit: int = 20) -> dict[str, int | None]:
    scenes: dict[str, Callable[[], Scene]] = {
        "day": lambda: Scene(640, 360, seed=8),
        "quiet": lambda: Scene(640, 360, noise=1.0, seed=9),
        "day-night": lambda: Scene(640, 360, day=1.0, night=0.3, period_s=120.0, seed=10),
    }
    found: dict[str, int | None] = {}
    for scene_name, make in scenes.items():
        for fault, expected in EXPECTED.items():
            scene, judge = make(), PictureJudge()
            for i in range(15):
                judge.observe(thumbnail_from_luma(scene.luma(i * step_s)), T0 + timedelta(seconds=i * step_s))
            took = None
            for n in range(1, limit + 1):
                t = (15 + n) * step_s
                verdict = judge.observe(thumbnail_from_luma(scene.luma(t, fault)), T0 + timedelta(seconds=t))
                if verdict.state == expected:
                    took = n
                    break
            found[f"{fault}/{scene_name}"] = took
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer timing runs (numbers noisier)")
    args = parser.parse_args()
    ms, jpeg_ms, encode_ms = _ms_per_snapshot(60 if args.quick else 300)
    print(f"{'1080p Y plane: health ms/snapshot':<44}{ms:8.3f}")
    print(f"{'1080p JPEG (HTTP): health ms/snapshot':<44}{jpeg_ms:8.3f}")
    print(f"{'1080p JPEG encode ms (baseline)':<44}{encode_ms:8.3f}")
    alarms = _false_alarms(300, 2.0)
    for name, count in alarms.items():
        print(f"{'false alarms, 10 min, ' + name:<44}{count:8d}")
    detection = _detection()
    for name, took in detection.items():
        print(f"{'snapshots to detect ' + name:<44}{'missed' if took is None else took:>8}")
    detected = [n for n in detection.values() if n is not None]
    result = {
        "health_ms_per_snapshot": round(ms, 3),
        "health_jpeg_ms_per_snapshot": round(jpeg_ms, 3),
        "health_vs_jpeg": round(ms / encode_ms, 3),
        "health_false_alarms_10min": sum(alarms.values()),
        "health_detect_snapshots_max": max(detected) if detected else None,
        "health_missed": sum(1 for n in detection.values() if n is None),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

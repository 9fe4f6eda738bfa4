"""Synthetic snapshots for the analysis and events tests (real JPEG bytes, real key layout)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import simplejpeg

from camops_workers.items import Capture, ItemKind
from camops_workers.storage.keys import Layout, latest_key, object_key

#: Recent, so the durable queue does not expire the items by age.
BASE_TIME = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)


def jpeg(width: int = 160, height: int = 120, seed: int = 0, quality: int = 80) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    data: bytes = simplejpeg.encode_jpeg(pixels, quality=quality, colorspace="RGB")
    return data


def snapshot(camera: str, index: int, data: bytes, *, prefix: str = "", step_s: float = 1.0) -> Capture:
    """The ``index``-th snapshot of ``camera`` as the capture worker makes it (dated key + latest.jpg)."""
    when = BASE_TIME + timedelta(seconds=index * step_s)
    return Capture(
        camera=camera,
        kind=ItemKind.SNAPSHOT,
        captured_at=when,
        key=object_key(Layout.DATED, prefix, camera, when, "jpg"),
        content_type="image/jpeg",
        data=data,
        also_keys=(latest_key(prefix, camera),),
    )


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()

"""Synthetic camera pictures for the picture-health tests, benchmark and test cameras (numpy only).

``Scene(width, height)`` draws a street-like scene (sky gradient, buildings, windows, a road)
with sensor noise and a slowly changing light, and the faults a camera shows: ``freeze`` (the
same picture repeated, identical), ``black`` (dead IR lamp: black with faint noise), ``uniform``
(a cloth over the lens: one colour), ``blur`` (box-blurred over 9 pixels or 1 % of the width,
noise after, as out of focus), ``scene`` (another view: the camera was moved). ``normal`` is the healthy picture.

Also imported by tests/servers/gst_rtsp_server.py under Debian's /usr/bin/python3, so it
needs nothing but numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["FAULTS", "Scene", "Timeline"]

FAULTS = ("normal", "freeze", "black", "uniform", "blur", "scene")

Plane = Any  # numpy uint8 array (rows x columns)


def _base(width: int, height: int, variant: int) -> Any:
    """The scene without light or noise, float32 0-255."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    rng = np.random.default_rng(100 + variant)
    if variant == 0:
        img = 170.0 + 50.0 * (1.0 - ys / height)  # sky
        horizon = int(height * 0.55)
        img[horizon:] = 90.0 + 30.0 * (ys[horizon:] - horizon) / max(1, height - horizon)  # road
        x = 0
        while x < width:
            w = int(rng.integers(width // 14, width // 6))
            top = int(rng.integers(height // 8, horizon - height // 10))
            shade = float(rng.integers(40, 140))
            img[top:horizon, x : x + w - 2] = shade
            for wy in range(top + 6, horizon - 8, max(6, height // 24)):
                for wx in range(x + 4, x + w - 8, max(6, width // 40)):
                    img[wy : wy + max(2, height // 60), wx : wx + max(2, width // 80)] = shade + 70.0
            x += w
        # Texture (brick, leaves, gravel): blocks of random shade about width/160 pixels wide.
        block = max(2, width // 160)
        texture = rng.integers(-18, 19, (height // block + 1, width // block + 1)).astype(np.float32)
        img += np.kron(texture, np.ones((block, block), np.float32))[:height, :width]
        lane = (ys > horizon + (height - horizon) * 0.5) & (ys < horizon + (height - horizon) * 0.55)
        img[lane & ((xs // max(1, width // 16)) % 2 == 0)] = 230.0
    else:  # another view: a wall with large diagonal stripes and a round window
        img = 110.0 + 60.0 * np.sign(np.sin((xs + ys) * (2 * math.pi / max(8, width // 5))))
        cy, cx, r = height * 0.4, width * 0.65, min(width, height) * 0.2
        img[(ys - cy) ** 2 + (xs - cx) ** 2 < r * r] = 30.0
    return img.astype(np.float32)


def _blur(img: Any, width: int = 9) -> Any:
    """A box blur ``width`` pixels wide, across and down: out of focus."""
    pad = width // 2
    out = img
    for axis in (0, 1):
        padded = np.pad(out, [(pad, pad) if a == axis else (0, 0) for a in (0, 1)], mode="edge")
        cumulative = np.cumsum(padded, axis=axis, dtype=np.float64)
        zero = np.zeros_like(np.take(cumulative, [0], axis=axis))
        cumulative = np.concatenate([zero, cumulative], axis=axis)
        n = out.shape[axis]
        out = (
            np.take(cumulative, range(width, width + n), axis=axis) - np.take(cumulative, range(n), axis=axis)
        ) / width
    return out.astype(np.float32)


@dataclass
class Scene:
    """Pictures of one camera. ``light(t)`` is the gain at stream time ``t`` (s)."""

    width: int = 320
    height: int = 240
    noise: float = 3.0
    #: Light: gain = day - (day - night) * (1 - cos(2 pi t / period)) / 2 (a slow day/night swing).
    day: float = 1.0
    night: float = 1.0
    period_s: float = 600.0
    seed: int = 1
    _bases: dict[tuple[int, bool], Any] = field(default_factory=dict, repr=False)
    _frozen: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def light(self, t: float) -> float:
        swing = (1.0 - math.cos(2 * math.pi * t / self.period_s)) / 2.0 if self.period_s > 0 else 0.0
        return self.day - (self.day - self.night) * swing

    def _scene(self, variant: int, blurred: bool) -> Any:
        key = (variant, blurred)
        if key not in self._bases:
            base = _base(self.width, self.height, variant)
            self._bases[key] = _blur(base, max(9, self.width // 100) | 1) if blurred else base
        return self._bases[key]

    def _noisy(self, img: Any, sigma: float) -> Any:
        if sigma > 0:
            img = img + self.rng.normal(0.0, sigma, img.shape).astype(np.float32)
        return np.clip(np.rint(img), 0, 255).astype(np.uint8)

    def luma(self, t: float, fault: str = "normal") -> Plane:
        """The Y plane (full range) at stream time ``t`` showing ``fault``."""
        if fault != "freeze":
            self._frozen = None
        if fault == "freeze":
            if self._frozen is None:
                self._frozen = self.luma(t, "normal")
            return self._frozen
        if fault == "black":
            return self._noisy(np.full((self.height, self.width), 2.0, np.float32), 1.0)
        if fault == "uniform":
            return self._noisy(np.full((self.height, self.width), 150.0, np.float32), 1.5)
        variant = 1 if fault == "scene" else 0
        if fault not in {"normal", "blur", "scene"}:
            raise ValueError(f"unknown fault {fault!r}")
        return self._noisy(self._scene(variant, fault == "blur") * self.light(t), self.noise)

    def chroma(self, fault: str) -> tuple[int, int]:
        """(U, V) of the whole picture: grey, or green for a cloth over the lens."""
        return (44, 21) if fault == "uniform" else (128, 128)

    def i420(self, t: float, fault: str = "normal") -> bytes:
        """One I420 frame (width and height even)."""
        y = self.luma(t, fault)
        u, v = self.chroma(fault)
        size = (self.width // 2) * (self.height // 2)
        return bytes(y.tobytes()) + bytes([u]) * size + bytes([v]) * size


@dataclass(frozen=True)
class Timeline:
    """A mount's script in stream time: ``normal`` for ``before_s``, ``fault`` for ``during_s``, then normal."""

    fault: str = "normal"
    before_s: float = 6.0
    during_s: float = 8.0

    def at(self, t: float) -> str:
        return self.fault if self.before_s <= t < self.before_s + self.during_s else "normal"

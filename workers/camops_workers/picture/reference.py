"""The learned reference view of one camera: its usual layout and sharpness.

The first ``snapshots`` healthy pictures are averaged; after that each healthy picture moves
the reference by ``rate`` (slowly: the shadows of the day and the grey of the night blend in,
a camera knocked sideways does not, because a picture that is not healthy never updates it).
"""

from __future__ import annotations

import numpy as np

from camops_workers.picture.thumbnail import Luma

__all__ = ["ReferenceView"]


class ReferenceView:
    def __init__(self, snapshots: int = 5, rate: float = 0.02) -> None:
        self.snapshots = snapshots
        self.rate = rate
        self.grid: Luma | None = None
        self.sharpness: float | None = None
        self.count = 0

    @property
    def learned(self) -> bool:
        return self.count >= self.snapshots and self.grid is not None

    def reset(self) -> None:
        self.grid, self.sharpness, self.count = None, None, 0

    def learn(self, grid: Luma | None, sharpness: float) -> None:
        """Blend one healthy picture's grid and sharpness in."""
        if grid is None:
            return
        if self.grid is None or self.grid.shape != grid.shape:
            self.grid, self.sharpness, self.count = grid.copy(), sharpness, 1
            return
        self.count += 1
        weight = 1.0 / self.count if self.count <= self.snapshots else self.rate
        if weight <= 0:
            return
        blended = (1.0 - weight) * self.grid + weight * grid
        blended -= blended.mean()
        spread = float(blended.std())
        if spread > 0:
            self.grid = (blended / spread).astype(np.float32)
        self.sharpness = (1.0 - weight) * (self.sharpness or sharpness) + weight * sharpness

    def usual_sharpness(self) -> float | None:
        """The reference's sharpness once learned."""
        return self.sharpness if self.learned else None

    def view(self) -> Luma | None:
        """The reference grid once learned."""
        return self.grid if self.learned else None

"""The measures of one snapshot's picture (pure functions of thumbnails)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from camops_workers.picture.thumbnail import Luma, Thumbnail

__all__ = ["GRID_COLUMNS", "Measures", "change", "measure", "uniform_share", "view_distance", "view_grid"]

#: Columns of the coarse grid a view is compared on (rows follow the aspect ratio).
GRID_COLUMNS = 32
#: A grid cell changed when it moved by more than this many of the grid's standard deviations.
CELL_CHANGE = 0.75


@dataclass(frozen=True, slots=True)
class Measures:
    """What one snapshot's picture looks like. Luma levels are full range (0-255)."""

    #: Mean luma.
    luma: float
    #: Standard deviation of luma.
    contrast: float
    #: Share of the picture (0-1) within the tolerance of its most common luma.
    uniform: float
    #: Edge sharpness, about 1 when sharp, lower when soft (light does not change it; ``Thumbnail.edge``).
    sharpness: float
    #: Mean absolute luma change since the previous snapshot (None: no comparable previous one).
    change: float | None
    #: Share of the view (0-1) that differs from the learned reference view; None before one is learned.
    distance: float | None

    def as_dict(self) -> dict[str, float]:
        """The measures that are known, rounded for status and events."""
        return {k: round(v, 3) for k, v in asdict(self).items() if v is not None}


def uniform_share(luma: Luma, tolerance: int, histogram: npt.NDArray[np.float64] | None = None) -> float:
    """Share of pixels within ``tolerance`` levels of the most common luma (``histogram``: per level)."""
    counts = histogram if histogram is not None else np.bincount(luma.astype(np.uint8).ravel(), minlength=256)
    cumulative = np.concatenate(([0], np.cumsum(counts)))
    width = 2 * tolerance + 1
    windows = cumulative[width:] - cumulative[:-width] if width <= 256 else cumulative[-1:]
    return float(windows.max()) / float(luma.size)


def change(current: Luma, previous: Luma | None) -> float | None:
    """Mean absolute luma difference, or None when there is no previous picture of the same size."""
    if previous is None or previous.shape != current.shape:
        return None
    return float(np.mean(np.abs(current - previous)))


def view_grid(luma: Luma, columns: int = GRID_COLUMNS) -> Luma | None:
    """The picture's layout: block means on a coarse grid in standard deviations from their mean
    (None if flat).

    Normalised so that a change of brightness or contrast (day, night, a cloud) leaves it as it is.
    """
    rows_n, cols_n = luma.shape
    columns = min(columns, cols_n)
    grid_rows = max(2, min(rows_n, round(columns * rows_n / cols_n)))
    row_edges = np.linspace(0, rows_n, grid_rows + 1).astype(np.intp)[:-1]
    col_edges = np.linspace(0, cols_n, columns + 1).astype(np.intp)[:-1]
    sums = np.add.reduceat(np.add.reduceat(luma, row_edges, axis=0), col_edges, axis=1)
    sizes = np.outer(np.diff(np.append(row_edges, rows_n)), np.diff(np.append(col_edges, cols_n)))
    grid = (sums / sizes).astype(np.float32).ravel()
    grid -= grid.mean()
    spread = float(grid.std())
    if spread < 1e-3:  # less than a thousandth of a level: flat
        return None
    out: Luma = grid / spread
    return out


def view_distance(grid: Luma, reference: Luma) -> float:
    """Share of the grid's cells (0-1) more than ``CELL_CHANGE`` standard deviations away from the
    reference's: a passing truck moves a few cells, a camera knocked sideways most of them."""
    return float(np.mean(np.abs(grid - reference) > CELL_CHANGE))


def measure(
    thumb: Thumbnail,
    previous: Thumbnail | None = None,
    *,
    grid: Luma | None = None,
    reference: Luma | None = None,
    uniform_tolerance: int = 8,
) -> Measures:
    """All measures of ``thumb``; ``grid`` is its ``view_grid`` and ``reference`` the learned one."""
    luma = thumb.luma
    contrast = float(luma.std())
    distance = None
    if grid is not None and reference is not None and grid.shape == reference.shape:
        distance = view_distance(grid, reference)
    return Measures(
        luma=float(luma.mean()),
        contrast=contrast,
        uniform=uniform_share(luma, uniform_tolerance, thumb.histogram),
        sharpness=thumb.edge,
        change=change(luma, previous.luma if previous is not None else None),
        distance=distance,
    )

"""Which worker of a CameraPool serves which camera: one pure, stable function.

An assignment is a tuple indexed by worker ordinal, each entry the sorted names of the
cameras that worker serves. :func:`assign` moves as little as possible:

* a camera keeps its worker while it exists (and while that worker is within
  ``per_worker``: lowering ``camerasPerWorker`` moves the excess, highest names first);
* a removed camera frees its slot, which the next new camera may take;
* new cameras (in name order) fill the lowest worker with room, then new workers at the end;
* the pool shrinks only from the end, and only by workers left empty.

So the number of workers is ⌈cameras ÷ per_worker⌉ when the pool is filled from scratch,
and may stay above it after removals (empty slots in the middle are refilled first).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = ["Assignment", "assign", "capacity_left", "moves", "worker_of", "workers_needed"]

#: Cameras per worker ordinal.
Assignment = tuple[tuple[str, ...], ...]


def workers_needed(cameras: int, per_worker: int) -> int:
    """⌈cameras ÷ per_worker⌉: the fewest workers that hold ``cameras``."""
    return math.ceil(cameras / per_worker) if cameras else 0


def assign(previous: Sequence[Iterable[str]], cameras: Iterable[str], per_worker: int) -> Assignment:
    """The new assignment of ``cameras`` to workers, given the ``previous`` one (pure)."""
    if per_worker < 1:
        raise ValueError(f"per_worker must be at least 1, got {per_worker}")
    wanted = set(cameras)
    seen: set[str] = set()
    workers: list[list[str]] = []
    for members in previous:
        kept = sorted(name for name in set(members) if name in wanted and name not in seen)
        kept = kept[:per_worker]  # over capacity after camerasPerWorker went down: the rest move
        seen.update(kept)
        workers.append(kept)
    for name in sorted(wanted - seen):
        for members in workers:
            if len(members) < per_worker:
                members.append(name)
                break
        else:
            workers.append([name])
    while workers and not workers[-1]:
        workers.pop()
    return tuple(tuple(sorted(members)) for members in workers)


def worker_of(assignment: Assignment, camera: str) -> int | None:
    """The ordinal serving ``camera``, or None."""
    for ordinal, members in enumerate(assignment):
        if camera in members:
            return ordinal
    return None


def moves(before: Assignment, after: Assignment) -> int:
    """Cameras present in both assignments that changed worker."""
    old = {name: ordinal for ordinal, members in enumerate(before) for name in members}
    new = {name: ordinal for ordinal, members in enumerate(after) for name in members}
    return sum(1 for name, ordinal in new.items() if name in old and old[name] != ordinal)


def capacity_left(assignment: Assignment, per_worker: int) -> int:
    """Cameras the current workers can still take."""
    return sum(max(0, per_worker - len(members)) for members in assignment)

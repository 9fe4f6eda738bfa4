"""Observed workers → CameraPool status (pure; the caller passes ``now``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from camops_operator.api.common import make_condition
from camops_operator.api.pool import CameraPoolStatus, PoolWorkerStatus
from camops_operator.assignment import Assignment, capacity_left

__all__ = ["pool_status"]


def pool_status(
    *,
    assignment: Assignment,
    workers: list[str],
    ready: Mapping[str, bool],
    per_worker: int,
    generation: int | None,
    previous: CameraPoolStatus | None,
    now: datetime,
    invalid: Mapping[str, str] | None = None,
) -> CameraPoolStatus:
    """The pool's status: cameras per worker (by pod name), readiness, capacity and the Ready condition."""
    rows = [
        PoolWorkerStatus(name=pod, cameras=len(members), ready=ready.get(pod, False))
        for pod, members in zip(workers, assignment, strict=True)
    ]
    ready_count = sum(1 for row in rows if row.ready)
    before = {c.type: c for c in (previous.conditions if previous else [])}
    status: Literal["True", "False"]
    if invalid:
        names = ", ".join(sorted(invalid)[:5])
        status, reason, message = "False", "CamerasNotRendered", f"{len(invalid)} camera(s) not served: {names}"
    elif ready_count == len(rows):
        status, reason, message = "True", "WorkersReady", f"{len(rows)} worker(s) ready"
    else:
        status, reason, message = "False", "WorkersNotReady", f"{ready_count} of {len(rows)} worker(s) ready"
    condition = make_condition(
        "Ready", status, reason, message, now=now, before=before.get("Ready"), generation=generation
    )
    return CameraPoolStatus(
        observed_generation=generation,
        workers_desired=len(rows),
        workers_ready=ready_count,
        cameras=sum(len(m) for m in assignment),
        capacity_left=capacity_left(assignment, per_worker),
        workers=rows,
        conditions=[condition],
    )

"""What the pool handlers remember between passes: per pool, and which pool each camera is in."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from camops_operator.api.pool import CameraPoolStatus
from camops_operator.assignment import Assignment

__all__ = ["PoolBook", "PoolState"]


@dataclass
class PoolState:
    """One pool: its last applied assignment (None until read), hashes of what was applied, its status."""

    assignment: Assignment | None = None
    applied: dict[str, str] = field(default_factory=dict)
    status: CameraPoolStatus | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class PoolBook:
    states: dict[tuple[str, str], PoolState] = field(default_factory=dict)
    #: (namespace, camera) -> (pool, generation) as last seen, to wake pools only on real changes.
    members: dict[tuple[str, str], tuple[str, Any]] = field(default_factory=dict)

    def state(self, key: tuple[str, str]) -> PoolState:
        if key not in self.states:
            self.states[key] = PoolState()
        return self.states[key]

    def wake(self, key: tuple[str, str]) -> None:
        self.state(key).wake.set()

"""What the handlers share for the operator's lifetime: settings, API clients, metrics, caches.

The runner builds one :class:`Runtime` before kopf starts and installs it with
:func:`install`; handlers reach it through :func:`runtime`.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

from camops_operator.handlers.pool_state import PoolBook
from camops_operator.k8s import KubeApi
from camops_operator.mediamtx import MediaMTXApi
from camops_operator.metrics import Metrics
from camops_operator.settings import OperatorSettings
from camops_operator.status import MediaSync, QueueVolume
from camops_workers.backoff import BackoffPolicy, backoff_delay

__all__ = ["MAX_RETRY_DELAY_S", "Runtime", "install", "retry_delay", "runtime"]

#: a failing reconcile is retried after ``settings.retry_delay``, doubling up to this
MAX_RETRY_DELAY_S = 300.0


def retry_delay(first_s: float, retry: int, rnd: float | None = None) -> float:
    """Seconds before kopf retries a handler that failed ``retry`` times before (0 = first failure):
    the project's one backoff, jittered so a fleet of failing objects does not retry in step."""
    policy = BackoffPolicy(base_s=first_s, cap_s=MAX_RETRY_DELAY_S, jitter=0.2)
    return backoff_delay(retry + 1, random.random() if rnd is None else rnd, policy)  # noqa: S311 - jitter


@dataclass
class Runtime:
    settings: OperatorSettings
    metrics: Metrics
    kube: KubeApi | None = None
    mediamtx: MediaMTXApi | None = None
    #: Last MediaMTX sync per camera ((namespace, name) -> result), for the status timer.
    media: dict[tuple[str, str], MediaSync] = field(default_factory=dict)
    #: Missing Secrets per camera (one message each) found by its last reconcile, for the status timer.
    secrets: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    #: The queue's claim per camera as last applied or watched, for QueueVolumeSized.
    claims: dict[tuple[str, str], QueueVolume] = field(default_factory=dict)
    #: The last Event message posted per (namespace, name, condition type), so one transition is posted once.
    posted: dict[tuple[str, str, str], str] = field(default_factory=dict)
    #: Last phase per camera, for the cameras-by-phase gauge.
    phases: dict[tuple[str, str], str] = field(default_factory=dict)
    #: kopf's live indices, captured from the first handler call (they are complete by then).
    indices: dict[str, Any] = field(default_factory=dict)
    indices_ready: asyncio.Event = field(default_factory=asyncio.Event)
    #: What the pool handlers remember: assignments, applied hashes, wake-ups, camera membership.
    pools: PoolBook = field(default_factory=PoolBook)
    #: Recent repair times per child (namespace, kind, name), to bound a fight with another controller.
    repairs: dict[tuple[str, str, str], list[float]] = field(default_factory=dict)
    #: Why the last MediaMTX drift pass failed as a whole (None: it succeeded, or none ran yet).
    drift_failure: str | None = None

    def require_kube(self) -> KubeApi:
        if self.kube is None:
            raise RuntimeError("the operator has not logged in to the Kubernetes API yet")
        return self.kube

    def set_phase(self, key: tuple[str, str], phase: str | None) -> None:
        """Record a camera's phase (None: gone) and update the cameras-by-phase gauge."""
        before = self.phases.pop(key, None)
        if phase is not None:
            self.phases[key] = phase
        if before == phase:
            return
        if before is not None:
            self.metrics.cameras_by_phase.labels(phase=before).dec()
        if phase is not None:
            self.metrics.cameras_by_phase.labels(phase=phase).inc()


_RUNTIME: Runtime | None = None


def install(rt: Runtime | None) -> None:
    global _RUNTIME  # noqa: PLW0603 - one operator per process
    _RUNTIME = rt


def runtime() -> Runtime:
    if _RUNTIME is None:
        raise RuntimeError("camops operator runtime is not installed")
    return _RUNTIME

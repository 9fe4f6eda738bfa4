"""Runs one camera's worker process: queue, uploaders, listeners, capture, probes and status.

``run_worker`` is what ``camops capture`` and local mode call. It wires the durable queue,
the object store and its uploader pool, the listeners the contract asks for, the capture
worker on its own thread, the ``/healthz`` ``/readyz`` ``/metrics`` server and the Camera
``status.capture`` reporter, and returns when ``stop`` is set — after the capture thread has
closed its open segment (bounded by ``grace_s``) and the uploaders stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from camops_workers.capture.worker import CaptureWorker, WorkerState
from camops_workers.contract import WorkerConfig
from camops_workers.redact import redact

if TYPE_CHECKING:
    from camops_workers.queue.durable import QueueStats

__all__ = ["WorkerStatus", "liveness", "readiness", "run_worker"]

log = logging.getLogger("camops.worker")


@dataclass(frozen=True)
class WorkerStatus:
    camera: str
    capture: WorkerState
    queue: QueueStats
    breaker_state: str
    storage_error: str | None


def readiness(
    state: WorkerState, last_packet_age_s: float | None, *, stall_timeout_s: float, interval_s: float
) -> tuple[bool, str]:
    """Ready while the source delivered within ``max(stall timeout, 2 × interval)`` (pure)."""
    if last_packet_age_s is None:
        return False, f"source not delivering yet ({state.source_state})"
    window = max(stall_timeout_s, 2.0 * interval_s)
    if last_packet_age_s > window:
        return False, f"no data from the source for {last_packet_age_s:.0f}s ({state.source_state})"
    return True, f"source {state.source_state}"


def liveness(
    thread_alive: bool, state: WorkerState, last_packet_age_s: float | None, *, stall_timeout_s: float
) -> tuple[bool, str]:
    """Alive while the capture thread runs and is not stuck in a read past every timeout (pure)."""
    if not thread_alive:
        return False, "capture thread ended"
    if state.source_state == "connected" and last_packet_age_s is not None and last_packet_age_s > 4 * stall_timeout_s:
        return False, f"capture loop stuck for {last_packet_age_s:.0f}s"
    return True, state.source_state


def run_worker(  # noqa: PLR0915 - the wiring reads best in one place
    config: WorkerConfig,
    stop: threading.Event,
    *,
    serve_http: bool = True,
    on_status: Callable[[WorkerStatus], None] | None = None,
    status_interval_s: float = 1.0,
    grace_s: float = 20.0,
) -> int:
    """Run the worker until ``stop`` is set; returns the process exit code (0 = clean)."""
    from camops_workers.listeners import build_listeners, close_listeners, listener_status
    from camops_workers.queue.durable import DurableQueue, QueueLimits
    from camops_workers.queue.uploader import UploaderPool
    from camops_workers.status_report import StatusReporter, capture_status
    from camops_workers.storage.factory import open_store

    started = time.monotonic()
    queue = DurableQueue(config.queue.directory, QueueLimits.from_config(config.queue))
    store = open_store(config.storage)
    pool = UploaderPool(queue, store, workers=config.queue.uploaders)
    pool.start()
    listeners: list[Any] = list(build_listeners(config, queue))
    worker = CaptureWorker(config, queue, listeners)
    thread = threading.Thread(target=worker.run, args=(stop,), name=f"capture-{config.camera}", daemon=True)

    def packet_age() -> float | None:
        last = worker.last_packet_monotonic
        return None if last is None else time.monotonic() - last

    src = config.source
    server = None
    if serve_http:
        from camops_workers.health import HealthServer

        server = HealthServer(
            config.http_host,
            config.http_port,
            alive=lambda: liveness(
                thread.is_alive(), worker.state(), packet_age(), stall_timeout_s=src.stall_timeout_s
            ),
            ready=lambda: readiness(
                worker.state(),
                packet_age(),
                stall_timeout_s=src.stall_timeout_s,
                interval_s=config.snapshots.interval_s,
            ),
            registries=[worker.metrics.registry],
        ).start()
        log.info("health server listening camera=%s port=%d", config.camera, server.port)
    reporter = None
    if config.report is not None:
        reporter = StatusReporter(
            config.report.namespace, config.report.name, min_interval_s=config.report.min_interval_s
        )

    def current_status() -> WorkerStatus:
        return WorkerStatus(
            camera=config.camera,
            capture=worker.state(),
            queue=queue.stats(),
            breaker_state=str(pool.breaker_state),
            storage_error=pool.last_error,
        )

    thread.start()
    code = 0
    try:
        while not stop.wait(status_interval_s):
            if not thread.is_alive():
                log.error("capture thread ended unexpectedly camera=%s", config.camera)
                code = 1
                break
            status = current_status()
            if on_status is not None:
                on_status(status)
            if reporter is not None:
                body = capture_status(status, datetime.now(UTC), listener_status(listeners))
                reporter.maybe_report(body, time.monotonic())
    finally:
        stop.set()
        thread.join(timeout=grace_s)
        if thread.is_alive():
            log.warning("capture did not stop within %.0fs camera=%s; exiting anyway", grace_s, config.camera)
            code = code or 1
        try:
            close_listeners(listeners)
            pool.stop(timeout=max(1.0, min(10.0, grace_s / 2)))
        except Exception as exc:  # noqa: BLE001 - shutdown goes on; the queue keeps what is not uploaded
            log.warning("shutdown step failed camera=%s error=%s", config.camera, redact(exc))
        final = current_status()  # what capture did up to its last packet, the closing segment included
        if on_status is not None:
            on_status(final)
        if reporter is not None:
            reporter.maybe_report(capture_status(final, datetime.now(UTC), listener_status(listeners)), float("inf"))
        queue.close()
        if server is not None:
            server.stop()
        log.info("worker stopped camera=%s after %.0fs code=%d", config.camera, time.monotonic() - started, code)
    return code

"""One worker process serving many cameras (a CameraPool worker): ``run_process``.

One durable queue, one object store and one uploader pool for the whole process (queued
items carry their camera); one capture thread per camera, supervised alone: a camera whose
thread ends is restarted after a backoff, the others never notice. One HTTP server:
``/healthz`` fails only when the process's own loop is stuck, ``/readyz`` reflects the share
of healthy cameras, ``/cameras`` shows each camera's health, ``/metrics`` is one exposition
with a ``camera`` label. One status pass patches each camera's ``status.capture`` (and
``status.worker``), each camera rate-limited by its own reporter, at most
``MAX_REPORTS_PER_PASS`` API calls per pass.

Hot reload: :class:`ContractFile` re-reads the mounted contract (the kubelet swaps a mounted
ConfigMap in place) and :meth:`CameraSet.apply` adds, removes or restarts only the cameras
whose contract changed. A removed camera's thread closes its open segment; what it queued
stays in the process's queue until uploaded. A change to the process's own settings (queue,
storage, HTTP port) needs a new process: the worker exits with :data:`EXIT_RELOAD` and the
kubelet starts it again.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector, CollectorRegistry
from pydantic import ValidationError

from camops_workers.backoff import Backoff, BackoffPolicy
from camops_workers.capture.worker import CaptureWorker
from camops_workers.contract import ProcessConfig, WorkerConfig, load_process_config
from camops_workers.queue.durable import EMPTY_STATS
from camops_workers.redact import redact
from camops_workers.runtime import WorkerStatus, readiness

if TYPE_CHECKING:
    from camops_workers.queue.durable import DurableQueue, QueueStats
    from camops_workers.status_report import StatusReporter

__all__ = [
    "EXIT_RELOAD",
    "CameraHealth",
    "CameraRegistries",
    "CameraSet",
    "ContractFile",
    "ordinal_of",
    "process_readiness",
    "run_process",
]

log = logging.getLogger("camops.worker")

#: Exit code when the process's own settings changed: the kubelet restarts the container with them.
EXIT_RELOAD = 3
#: Share of cameras that must be healthy for the process to be ready.
READY_SHARE = 0.5
#: Status patches sent per pass at most; the rest stay due for the next pass.
MAX_REPORTS_PER_PASS = 20
#: A camera thread that ended unexpectedly is started again after this backoff.
RESTART_BACKOFF = BackoffPolicy(base_s=1.0, cap_s=60.0, jitter=0.2)
#: The process loop must tick within this many seconds for /healthz to pass.
STUCK_AFTER_S = 60.0


# -- pure decisions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CameraHealth:
    camera: str
    healthy: bool
    reason: str
    source_state: str
    snapshots: int
    restarts: int


def process_readiness(healthy: int, total: int, share: float = READY_SHARE) -> tuple[bool, str]:
    """Ready while at least ``share`` of the cameras are healthy (a worker with none is ready)."""
    if total == 0:
        return True, "no cameras assigned"
    ok = healthy >= share * total
    return ok, f"{healthy} of {total} cameras healthy"


def ordinal_of(pod_name: str) -> int:
    """A StatefulSet pod's ordinal: the number after its last dash."""
    tail = pod_name.rsplit("-", 1)[-1]
    if not tail.isdigit():
        raise ValueError(f"{pod_name!r} is not a StatefulSet pod name (<name>-<ordinal>)")
    return int(tail)


def _process_part(config: ProcessConfig) -> dict[str, Any]:
    """What only a new process can apply: queue, storage, HTTP."""
    return config.model_dump(include={"queue", "storage", "http_host", "http_port"})


# -- one exposition for many cameras ----------------------------------------------------------------


class CameraRegistries(Collector):
    """Every camera's own registry, exposed as one: families merged by name, samples keep their ``camera``.

    A removed camera's series leave with it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._registries: dict[str, CollectorRegistry] = {}

    def add(self, camera: str, registry: CollectorRegistry) -> None:
        with self._lock:
            self._registries[camera] = registry

    def remove(self, camera: str) -> None:
        with self._lock:
            self._registries.pop(camera, None)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            registries = list(self._registries.values())
        families: dict[str, Metric] = {}
        for registry in registries:
            for metric in registry.collect():
                family = families.get(metric.name)
                if family is None:
                    family = families[metric.name] = Metric(metric.name, metric.documentation, metric.type, metric.unit)
                family.samples.extend(metric.samples)
        yield from families.values()


# -- the cameras of one process ------------------------------------------------------------------


@dataclass
class _Camera:
    config: WorkerConfig
    worker: CaptureWorker
    stop: threading.Event
    thread: threading.Thread
    listeners: list[Any]
    reporter: StatusReporter | None
    backoff: Backoff
    restarts: int = 0
    restart_at: float | None = None


@dataclass
class CameraSet:
    """The cameras one process captures; ``apply`` a new list to add, remove or restart only what changed."""

    queue: DurableQueue
    registries: CameraRegistries = field(default_factory=CameraRegistries)
    worker_name: str | None = None
    report: bool = True
    patch: Callable[[str, str, dict[str, Any]], None] | None = None
    grace_s: float = 20.0
    rand: Callable[[], float] = random.random
    cameras: dict[str, _Camera] = field(default_factory=dict)

    def apply(self, configs: Sequence[WorkerConfig]) -> tuple[list[str], list[str], list[str]]:
        """Bring the running cameras in line with ``configs``: (added, removed, restarted) names."""
        wanted = {c.camera: c for c in configs}
        removed = [name for name in self.cameras if name not in wanted]
        changed = [name for name, c in wanted.items() if name in self.cameras and self.cameras[name].config != c]
        added = [name for name in wanted if name not in self.cameras]
        self._stop_all([*removed, *changed])
        for name in [*changed, *added]:
            self.cameras[name] = self._start(wanted[name])
        return added, removed, changed

    def _start(self, config: WorkerConfig) -> _Camera:
        from camops_workers.listeners import build_listeners

        listeners: list[Any] = list(build_listeners(config, self.queue))
        worker = CaptureWorker(config, self.queue, listeners)
        stop = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,), name=f"capture-{config.camera}", daemon=True)
        thread.start()
        self.registries.add(config.camera, worker.metrics.registry)
        reporter = self._reporter(config) if self.report else None
        log.info("camera started camera=%s", config.camera)
        return _Camera(config, worker, stop, thread, listeners, reporter, Backoff(RESTART_BACKOFF, self.rand))

    def _reporter(self, config: WorkerConfig) -> StatusReporter | None:
        from camops_workers.status_report import StatusReporter

        if config.report is None:
            return None
        patch = self.patch
        if patch is None:
            from camops_workers.kube import patch_camera_capture_status

            worker = self.worker_name

            def patch(namespace: str, name: str, body: dict[str, Any]) -> None:
                patch_camera_capture_status(namespace, name, body, worker=worker)

        return StatusReporter(
            config.report.namespace, config.report.name, min_interval_s=config.report.min_interval_s, patch=patch
        )

    def _stop_all(self, names: Iterable[str]) -> None:
        """Stop cameras together (each closes its segment), bounded by ``grace_s`` in all."""
        from camops_workers.listeners import close_listeners

        stopping = [self.cameras.pop(name) for name in names if name in self.cameras]
        for cam in stopping:
            cam.stop.set()
        deadline = time.monotonic() + self.grace_s
        for cam in stopping:
            cam.thread.join(timeout=max(0.0, deadline - time.monotonic()))
            if cam.thread.is_alive():
                log.warning("camera did not stop within %.0fs camera=%s", self.grace_s, cam.config.camera)
            try:
                close_listeners(cam.listeners)
            except Exception as exc:  # noqa: BLE001 - the other cameras go on
                log.warning("closing listeners failed camera=%s error=%s", cam.config.camera, redact(exc))
            self.registries.remove(cam.config.camera)
            log.info("camera stopped camera=%s", cam.config.camera)

    def supervise(self, now: float) -> None:
        """Restart, after a backoff, every camera whose thread ended although it was not asked to stop."""
        for name, cam in list(self.cameras.items()):
            if cam.thread.is_alive() or cam.stop.is_set():
                continue
            if cam.restart_at is None:
                delay = cam.backoff.next_delay()
                cam.restart_at = now + delay
                log.error("capture thread ended camera=%s restart_in=%.1fs", name, delay)
            elif now >= cam.restart_at:
                fresh = self._start(cam.config)
                fresh.backoff, fresh.restarts = cam.backoff, cam.restarts + 1
                self.cameras[name] = fresh

    def health(self, now: float) -> list[CameraHealth]:
        out = []
        for name, cam in sorted(self.cameras.items()):
            state = cam.worker.state()
            last = cam.worker.last_packet_monotonic
            if not cam.thread.is_alive():
                ok, reason = False, "capture restarting"
            else:
                ok, reason = readiness(
                    state,
                    None if last is None else now - last,
                    stall_timeout_s=cam.config.source.stall_timeout_s,
                    interval_s=cam.config.snapshots.interval_s,
                )
            out.append(CameraHealth(name, ok, reason, state.source_state, state.snapshots, cam.restarts))
        return out

    def statuses(self, by_camera: dict[str, QueueStats], breaker: str, error: str | None) -> dict[str, WorkerStatus]:
        """Each camera's status with its own share of the process's queue (depth, drops, uploads)."""
        return {
            name: WorkerStatus(
                camera=name,
                capture=cam.worker.state(),
                queue=by_camera.get(name, EMPTY_STATS),
                breaker_state=breaker,
                storage_error=error,
            )
            for name, cam in self.cameras.items()
        }

    def report_pass(
        self, statuses: dict[str, WorkerStatus], now_wall: datetime, now: float, *, final: bool = False
    ) -> int:
        """Send the due status patches (at most MAX_REPORTS_PER_PASS unless ``final``); returns how many."""
        from camops_workers.listeners import listener_status
        from camops_workers.status_report import capture_status

        sent = 0
        for name, status in statuses.items():
            cam = self.cameras.get(name)
            if cam is None or cam.reporter is None:
                continue
            if not final and sent >= MAX_REPORTS_PER_PASS:
                break
            body = capture_status(status, now_wall, listener_status(cam.listeners))
            if cam.reporter.maybe_report(body, float("inf") if final else now):
                sent += 1
        return sent

    def halt(self) -> None:
        """Stop every camera's capture (bounded by ``grace_s``) but keep them for a last status pass."""
        for cam in self.cameras.values():
            cam.stop.set()
        deadline = time.monotonic() + self.grace_s
        for cam in self.cameras.values():
            cam.thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        self._stop_all(list(self.cameras))


# -- the mounted contract -------------------------------------------------------------------------


@dataclass
class ContractFile:
    """The process contract on disk, re-read when its bytes change (a ConfigMap mount swaps files in place)."""

    path: Path
    _last: bytes | None = None
    _logged: str | None = None

    def changed(self) -> ProcessConfig | None:
        """The new contract when the file changed and is valid; None otherwise (errors logged once)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raw = b""
        if raw == self._last:
            return None
        self._last = raw
        if not raw:
            return ProcessConfig()
        try:
            config = load_process_config(self.path)
        except (OSError, ValueError, ValidationError) as exc:
            message = redact(exc)[:300]
            if message != self._logged:
                log.error("contract unusable, keeping the running cameras path=%s error=%s", self.path, message)
                self._logged = message
            return None
        self._logged = None
        return config

    @property
    def error(self) -> str | None:
        """Why the file last read is not applied (the running cameras stay); None when it was applied."""
        return self._logged


# -- the process ------------------------------------------------------------------------------------


def run_process(  # noqa: PLR0915 - the wiring reads best in one place
    contract: ContractFile,
    stop: threading.Event,
    *,
    serve_http: bool = True,
    report: bool = True,
    patch: Callable[[str, str, dict[str, Any]], None] | None = None,
    status_interval_s: float = 1.0,
    reload_interval_s: float = 1.0,
    grace_s: float = 20.0,
    on_pass: Callable[[CameraSet], None] | None = None,
) -> int:
    """Serve the cameras of ``contract`` until ``stop`` is set; returns the exit code.

    0: stopped; 1: the contract or storage is unusable at start; :data:`EXIT_RELOAD`: the
    process's own settings changed (restart to apply them).
    """
    from camops_workers.queue.durable import DurableQueue, QueueLimits
    from camops_workers.queue.uploader import UploaderPool
    from camops_workers.storage.factory import open_store

    config = contract.changed()
    if config is None:
        log.error("no usable contract at %s", contract.path)
        return 1
    started = time.monotonic()
    queue = DurableQueue(config.queue.directory, QueueLimits.from_config(config.queue))
    store = open_store(config.storage)
    uploaders = UploaderPool(queue, store, workers=config.queue.uploaders)
    uploaders.start()
    cameras = CameraSet(queue, worker_name=config.worker, report=report, patch=patch, grace_s=grace_s)
    registry = CollectorRegistry()
    registry.register(cameras.registries)
    tick = [time.monotonic()]
    server = None
    if serve_http:
        from camops_workers.health import HealthServer

        def cameras_json() -> tuple[int, bytes, str]:
            body = [h.__dict__ for h in cameras.health(time.monotonic())]
            doc = {"worker": config.worker, "contract_error": contract.error, "cameras": body}
            return 200, json.dumps(doc).encode(), "application/json"

        def ready() -> tuple[bool, str]:
            health = cameras.health(time.monotonic())
            return process_readiness(sum(1 for h in health if h.healthy), len(health))

        def alive() -> tuple[bool, str]:
            age = time.monotonic() - tick[0]
            return age < STUCK_AFTER_S, f"process loop ticked {age:.0f}s ago"

        server = HealthServer(
            config.http_host,
            config.http_port,
            alive=alive,
            ready=ready,
            registries=[registry],
            routes={"/cameras": cameras_json},
        ).start()
        log.info("health server listening worker=%s port=%d", config.worker, server.port)
    process_part = _process_part(config)
    added, _, _ = cameras.apply(config.cameras)
    log.info("worker started worker=%s cameras=%d", config.worker, len(added))
    code = 0
    next_reload = time.monotonic() + reload_interval_s
    try:
        while not stop.wait(status_interval_s):
            now = time.monotonic()
            tick[0] = now
            if now >= next_reload:
                next_reload = now + reload_interval_s
                new = contract.changed()
                if new is not None:
                    if _process_part(new) != process_part:
                        log.warning("process settings changed worker=%s: restarting to apply them", config.worker)
                        code = EXIT_RELOAD
                        break
                    added, removed, restarted = cameras.apply(new.cameras)
                    log.info(
                        "contract reloaded worker=%s added=%d removed=%d restarted=%d",
                        config.worker,
                        len(added),
                        len(removed),
                        len(restarted),
                    )
            cameras.supervise(now)
            statuses = cameras.statuses(queue.stats_by_camera(), str(uploaders.breaker_state), uploaders.last_error)
            cameras.report_pass(statuses, datetime.now(UTC), now)
            if on_pass is not None:
                on_pass(cameras)
    finally:
        stop.set()
        cameras.halt()  # every open segment closes into the queue before the last report
        final = cameras.statuses(queue.stats_by_camera(), str(uploaders.breaker_state), uploaders.last_error)
        if report:
            cameras.report_pass(final, datetime.now(UTC), time.monotonic(), final=True)
        cameras.close()
        try:
            uploaders.stop(timeout=max(1.0, min(10.0, grace_s / 2)))
        except Exception as exc:  # noqa: BLE001 - the queue keeps what is not uploaded
            log.warning("stopping the uploaders failed worker=%s error=%s", config.worker, redact(exc))
        queue.close()
        if server is not None:
            server.stop()
        log.info("worker stopped worker=%s after %.0fs code=%d", config.worker, time.monotonic() - started, code)
    return code

"""Run planned cameras on this machine: one capture worker thread per Camera, retention on schedule.

Each worker is the same code a worker pod runs (:func:`camops_workers.runtime.run_worker`),
without its HTTP server and without status reporting to an API server; its status
reports feed the live lines (:mod:`camops_operator.local.status`). RetentionPolicies run
on their cron schedules against the store their cameras write to.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from camops_operator.api.retention import RetentionPolicy
from camops_operator.local.plan import PlannedCamera, secrets_dir
from camops_operator.local.schedule import next_run
from camops_operator.local.status import CameraView
from camops_workers.contract import WorkerConfig
from camops_workers.redact import redact
from camops_workers.runtime import WorkerStatus, run_worker

if TYPE_CHECKING:
    from camops_workers.queue.durable import QueueStats

__all__ = ["LocalRunner", "PolicyView", "QueueBaseline", "view_from_status", "write_secret_files"]

log = logging.getLogger("camops.local")

#: how long stop() waits for the workers' graceful shutdown (closing segments) and final uploads
STOP_TIMEOUT_S = 40.0


@dataclass(frozen=True)
class QueueBaseline:
    """The queue's lifetime counters when this run started (they persist across runs)."""

    uploaded: int = 0
    dropped: int = 0


def view_from_status(status: WorkerStatus, previous: CameraView, baseline: QueueBaseline | None = None) -> CameraView:
    """The status line's numbers from one worker status report; queue counters count this run only."""
    capture, queue = status.capture, status.queue
    base = baseline or QueueBaseline()
    picture = capture.picture
    state = picture.state.value if picture is not None else previous.picture
    entered = picture is not None and state != previous.picture and not picture.healthy
    return replace(
        previous,
        state=capture.source_state,
        snapshots=capture.snapshots,
        segments=capture.segments,
        bytes=capture.bytes,
        queue_depth=queue.depth,
        queue_bytes=queue.bytes,
        uploaded=queue.uploaded - base.uploaded,
        dropped=queue.dropped + queue.expired - base.dropped,
        failed=queue.failed,
        reconnects=capture.reconnects,
        source_errors=capture.source_errors,
        last_snapshot_at=capture.last_snapshot_at,
        last_error=capture.last_error,
        error_seen=capture.last_error or previous.error_seen,
        storage_state=status.breaker_state,
        storage_error=status.storage_error,
        picture=state,
        picture_message=picture.message if picture is not None else previous.picture_message,
        picture_alarms=previous.picture_alarms + (1 if entered else 0),
        outages=tuple((o.start, o.end, o.reason) for o in capture.outages),
    )


def write_secret_files(files: dict[str, str] | Sequence[tuple[str, str]], root: Path | None = None) -> None:
    """Write secret values to files only this user can read: files 0600, their folder 0700.

    With ``root`` (the secrets folder), every folder from ``root`` down to each file is 0700 too,
    the intermediate ones (``<camera>/``, ``<camera>/<purpose>/``) included.
    """
    items = files.items() if isinstance(files, dict) else files
    for name, value in items:
        path = Path(name)
        folders = [path.parent]
        if root is not None and path.parent.is_relative_to(root):
            folders = [root, *(root / p for p in _prefixes(path.parent.relative_to(root)))]
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(folder, 0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, value.encode("utf-8"))
        finally:
            os.close(fd)


def _prefixes(relative: Path) -> list[Path]:
    """``a/b/c`` -> ``a``, ``a/b``, ``a/b/c``."""
    parts = relative.parts
    return [Path(*parts[: i + 1]) for i in range(len(parts))]


@dataclass(frozen=True)
class PolicyView:
    """A RetentionPolicy's schedule and what its last run did, for the status block."""

    name: str
    cameras: tuple[str, ...]
    next_run_at: datetime | None
    last_run_at: datetime | None = None
    last_result: str | None = None


class LocalRunner:
    """Start, watch and stop the workers of one ``camops local`` run."""

    def __init__(
        self,
        planned: Sequence[PlannedCamera],
        policies: Sequence[RetentionPolicy],
        data_dir: Path,
        *,
        status_interval_s: float = 1.0,
        drain_s: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now().astimezone(),
    ) -> None:
        self.planned = list(planned)
        self.data_dir = data_dir
        self.status_interval_s = status_interval_s
        self.drain_s = drain_s
        self.clock = clock
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self._views = {
            p.name: CameraView(name=p.name, state="paused" if p.config is None else "starting") for p in self.planned
        }
        self._threads: list[threading.Thread] = []
        #: one stop event per worker: a worker that fails sets its own, never its neighbours'
        self._stops: list[threading.Event] = []
        self.policies = list(policies)
        self._policy_views = {p.metadata.name: self._policy_view(p, self.clock()) for p in self.policies}

    # -- cameras ---------------------------------------------------------------

    def _update(self, name: str, baseline: QueueBaseline) -> Callable[[WorkerStatus], None]:
        def on_status(status: WorkerStatus) -> None:
            with self._lock:
                self._views[name] = view_from_status(status, self._views[name], baseline)

        return on_status

    def _run_camera(self, planned: PlannedCamera, stop: threading.Event) -> None:
        if planned.config is None:
            return
        name = planned.name
        baseline = QueueBaseline()
        try:
            before = self._queue_stats(planned.config)
            if before is not None:
                baseline = QueueBaseline(uploaded=before.uploaded, dropped=before.dropped + before.expired)
            code = run_worker(
                planned.config,
                stop,
                serve_http=False,
                on_status=self._update(name, baseline),
                status_interval_s=self.status_interval_s,
            )
        except Exception as exc:  # one camera's crash must not end the others; it is shown
            log.exception("camera=%s worker crashed", name)
            with self._lock:
                error = redact(exc)
                self._views[name] = replace(
                    self._views[name], state="failed", last_error=error, error_seen=error, exit_code=1
                )
            return
        with self._lock:
            storage_up = self._views[name].storage_state == "closed"
        final = self._drain(planned.config, upload=storage_up)
        with self._lock:
            view = self._views[name]
            if final is not None:
                view = replace(
                    view,
                    queue_depth=final.depth,
                    queue_bytes=final.bytes,
                    uploaded=final.uploaded - baseline.uploaded,
                    dropped=final.dropped + final.expired - baseline.dropped,
                    failed=final.failed,
                )
            self._views[name] = replace(view, state="stopped" if code == 0 else "failed", exit_code=code)

    @staticmethod
    def _queue_stats(config: WorkerConfig) -> QueueStats | None:
        """The queue's counters before the worker opens it (None when it cannot be read: the worker will say why)."""
        from camops_workers.queue.durable import DurableQueue, QueueLimits

        try:
            queue = DurableQueue(config.queue.directory, QueueLimits.from_config(config.queue))
        except Exception:  # noqa: BLE001 - the worker opens the same queue next and reports the problem
            return None
        try:
            return queue.stats()
        finally:
            queue.close()

    def _drain(self, config: WorkerConfig, *, upload: bool) -> QueueStats | None:
        """Upload what the worker left in its queue (its last segment, usually), for at most ``drain_s``.

        Skipped (``upload`` false) while the store is known to be down: stopping should not
        wait for an outage; the items stay queued for the next run.
        """
        from camops_workers.queue.durable import DurableQueue, QueueLimits
        from camops_workers.queue.uploader import UploaderPool
        from camops_workers.storage.factory import open_store

        queue = DurableQueue(config.queue.directory, QueueLimits.from_config(config.queue))
        try:
            if upload and queue.stats().pending and self.drain_s > 0:
                pool = UploaderPool(queue, open_store(config.storage), workers=config.queue.uploaders)
                pool.drain(max_seconds=self.drain_s)
            return queue.stats()
        except Exception as exc:  # noqa: BLE001 - whatever is left stays queued for the next run; it is logged
            log.warning("camera=%s final upload failed: %s", config.camera, redact(exc))
            return None
        finally:
            queue.close()

    def start(self) -> None:
        """Write the secret files, then start one worker thread per running camera and the retention thread.

        Secret files a killed run left behind (it never reached ``cleanup``) are removed first.
        """
        self.cleanup()
        for planned in self.planned:
            if planned.config is None:
                continue
            write_secret_files(dict(planned.secret_files), root=secrets_dir(self.data_dir))
            stop = threading.Event()
            self._stops.append(stop)
            # daemon: a second Ctrl-C must end the process at once; the durable queue keeps what is in flight
            thread = threading.Thread(
                target=self._run_camera, args=(planned, stop), name=f"camera-{planned.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        if self.policies:
            thread = threading.Thread(target=self._retention_loop, name="retention", daemon=True)
            thread.start()

    def views(self) -> list[CameraView]:
        with self._lock:
            return [self._views[p.name] for p in self.planned]

    def policy_views(self) -> list[PolicyView]:
        with self._lock:
            return list(self._policy_views.values())

    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> list[str]:
        """Ask every worker to stop and wait for them; return the names of workers that did not stop in time."""
        self.stop_event.set()
        for stop in self._stops:
            stop.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        return [t.name.removeprefix("camera-") for t in self._threads if t.is_alive()]

    def cleanup(self) -> None:
        """Remove the secret files written for this run (the workers have stopped reading them)."""
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(secrets_dir(self.data_dir))

    # -- retention ---------------------------------------------------------------

    def _selected(self, policy: RetentionPolicy) -> list[PlannedCamera]:
        return [
            p
            for p in self.planned
            if p.config is not None
            and p.camera.namespace == policy.metadata.namespace
            and policy.spec.selector.matches(dict(p.camera.metadata.labels))
        ]

    def _policy_view(self, policy: RetentionPolicy, now: datetime) -> PolicyView:
        due = None if policy.spec.suspend else next_run(policy.spec.schedule, now)
        return PolicyView(
            name=policy.metadata.name, cameras=tuple(p.name for p in self._selected(policy)), next_run_at=due
        )

    def _retention_loop(self) -> None:
        while not self.stop_event.is_set():
            now = self.clock()
            with self._lock:
                due = [
                    p
                    for p in self.policies
                    if (v := self._policy_views[p.metadata.name]).next_run_at and v.next_run_at <= now
                ]
                upcoming = [v.next_run_at for v in self._policy_views.values() if v.next_run_at]
            for policy in due:
                self.run_policy(policy, now)
            wait = min(((t - self.clock()).total_seconds() for t in upcoming), default=60.0)
            self.stop_event.wait(timeout=min(60.0, max(1.0, wait)))

    def run_policy(self, policy: RetentionPolicy, now: datetime) -> str:
        """Run one RetentionPolicy now over its cameras' stores; return the one-line result."""
        from camops_operator.local.retention import run_policy

        try:
            result = run_policy(policy, self._selected(policy), now.astimezone(UTC))
        except Exception as exc:  # a failed run is shown and retried on the next schedule
            log.exception("retention policy=%s failed", policy.metadata.name)
            result = f"failed: {redact(exc)}"
        with self._lock:
            view = self._policy_view(policy, now)
            self._policy_views[policy.metadata.name] = replace(view, last_run_at=now, last_result=result)
        return result

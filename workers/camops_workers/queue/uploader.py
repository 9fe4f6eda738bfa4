"""The uploader pool: N threads that lease items from a ``DurableQueue`` and put them to an ``ObjectStore``.

Per item: claim (lease) -> upload ``key`` with the sha256 in the object's metadata,
then each ``also_key`` (skipped when a newer item already wrote it) -> the store
confirmed -> ack (row, then file). A transient error re-arms the item with capped,
jittered backoff and feeds the circuit breaker; a permanent one parks it as
``failed``. While the breaker is open nothing is claimed: items wait on disk and
the threads sleep. A side thread renews the leases of in-flight items and expires
items past the queue's max age.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable

from camops_workers.backoff import BackoffPolicy, backoff_delay
from camops_workers.queue import metrics
from camops_workers.queue.breaker import BreakerState, CircuitBreaker
from camops_workers.queue.durable import DurableQueue, QueueItem, QueueStats
from camops_workers.ratelimit import RateLimited
from camops_workers.redact import redact
from camops_workers.storage.base import ObjectStore, PermanentStorageError, StorageError, TransientStorageError
from camops_workers.storage.keys import key_time

__all__ = ["UploaderPool", "default_holder", "retry_delay"]

log = logging.getLogger("camops.uploader")


def default_holder() -> str:
    """A lease holder name unique to this process: host, pid and a random tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def retry_delay(attempts: int, *, base_s: float = 1.0, cap_s: float = 60.0, rnd: float = 0.5) -> float:
    """Backoff before retrying an item that failed ``attempts`` times: capped exponential, ±25 % jitter."""
    return backoff_delay(max(1, attempts), rnd, BackoffPolicy(base_s=base_s, cap_s=cap_s, jitter=0.25))


class UploaderPool:
    """Empties one queue into one store with ``workers`` threads; ``camops drain`` and workers both use it."""

    def __init__(
        self,
        queue: DurableQueue,
        store: ObjectStore,
        *,
        workers: int = 3,
        holder: str | None = None,
        lease_s: float = 60.0,
        breaker: CircuitBreaker | None = None,
        idle_s: float = 0.5,
        retry_base_s: float = 1.0,
        retry_cap_s: float = 60.0,
        housekeeping_s: float = 10.0,
    ) -> None:
        if workers < 1:
            raise ValueError("an uploader pool needs at least one worker")
        self.queue = queue
        self.store = store
        self.workers = workers
        self.holder = holder or default_holder()
        self.lease_s = lease_s
        self.idle_s = idle_s
        self.retry_base_s = retry_base_s
        self.retry_cap_s = retry_cap_s
        self.housekeeping_s = housekeeping_s
        self.last_error: str | None = None
        self._breaker = breaker or CircuitBreaker()
        self._breaker._on_change = self._breaker_changed
        metrics.set_breaker_state(queue.name, self._breaker.state)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._inflight: dict[int, QueueItem] = {}
        self._lock = threading.Lock()
        self._bucket_ready = False
        self._park_log = RateLimited(30.0)
        self._error_log = RateLimited(30.0)
        self._shared_key_lock = threading.Lock()

    # -- public ------------------------------------------------------------------

    @property
    def breaker_state(self) -> BreakerState:
        return self._breaker.state

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def start(self) -> None:
        """Start the upload threads and the lease keeper (no-op when running)."""
        if self.running:
            return
        try:
            self.queue.expire()  # nothing past its max age gets uploaded after a long outage
        except Exception as exc:  # noqa: BLE001 - the keeper tries again; said in the log
            log.warning("event=queue_expire_error queue=%s error=%s", self.queue.name, redact(exc))
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._run, name=f"camops-upload-{i}", daemon=True) for i in range(self.workers)
        ]
        self._threads.append(threading.Thread(target=self._keeper, name="camops-upload-leases", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming; wait up to ``timeout`` for in-flight uploads to finish (their leases expire otherwise)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]

    def drain(
        self, *, max_seconds: float | None = None, progress: Callable[[QueueStats], None] | None = None
    ) -> QueueStats:
        """Upload until no pending item is left (failed ones stay parked) or ``max_seconds`` passed."""
        started_here = not self.running
        self.start()
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        last_progress = 0.0
        try:
            while True:
                stats = self.queue.stats()
                if stats.pending == 0:
                    break
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                if progress is not None and now - last_progress >= 1.0:
                    last_progress = now
                    progress(stats)
                time.sleep(0.05 if stats.pending < self.workers * 4 else 0.2)
        finally:
            if started_here:
                self.stop()
        self.queue.sweep_orphans()
        stats = self.queue.stats()
        if progress is not None:
            progress(stats)
        return stats

    # -- threads ---------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self._step()
            except Exception as exc:  # a worker thread must outlive one bad item; said and counted
                self._breaker.release()  # a probe that died must not leave the breaker half-open for good
                self.last_error = redact(exc)
                folded = self._error_log(time.monotonic())
                if folded is not None:
                    log.error(
                        "event=uploader_error queue=%s error=%s similar_since_last_line=%d",
                        self.queue.name,
                        self.last_error,
                        folded,
                        exc_info=folded == 0,
                    )
                metrics.UPLOADS.labels(camera="", result="error", reason=type(exc).__name__).inc()
                worked = False
                self._stop.wait(1.0)
            if not worked and not self._stop.is_set():
                self.queue.wait_for_work(self.idle_s)

    def _step(self) -> bool:
        """One claim-upload-ack round; False when there was nothing to do (or the breaker said wait)."""
        now = time.time()
        if not self._breaker.allow(now):
            self._stop.wait(min(self.idle_s * 2, max(0.05, self._breaker.wait_s(now))))
            return True
        item = self.queue.claim(self.holder, self.lease_s, now)
        if item is None:
            self._breaker.release()
            return False
        with self._lock:
            self._inflight[item.seq] = item
        try:
            self._upload(item)
        except Exception as exc:
            # not a sorted storage error (a bug): give the item back with backoff instead of sitting on its lease
            with contextlib.suppress(Exception):
                delay = retry_delay(item.attempts + 1, base_s=self.retry_base_s, cap_s=self.retry_cap_s)
                self.queue.retry_later(item, f"{type(exc).__name__}: {exc}", delay)
            raise
        finally:
            with self._lock:
                self._inflight.pop(item.seq, None)
        return True

    def _upload(self, item: QueueItem) -> None:
        if not item.path.exists():
            self.queue.drop_missing(item)
            self._breaker.release()
            return
        started = time.monotonic()
        try:
            if not self._bucket_ready:
                self.store.ensure_bucket()
                self._bucket_ready = True
            metadata = {
                **item.metadata,
                "sha256": item.sha256,
                "camera": item.camera,
                "kind": item.kind,
                "captured-at": item.captured_at.isoformat(timespec="milliseconds"),
            }
            if key_time(item.key) is not None:
                self.store.put_file(item.key, item.path, item.content_type, metadata)
            else:  # an overwritten key (latest.*): an older item never replaces a newer one
                with self._shared_key_lock:
                    if not self.queue.newer_written(item.key, item.seq):
                        self.store.put_file(item.key, item.path, item.content_type, metadata)
                        self.queue.note_written(item.key, item.seq)
            for key in item.also_keys:
                with self._shared_key_lock:  # check-and-write of latest.jpg must not interleave
                    if not self.queue.newer_written(key, item.seq):
                        self.store.put_file(key, item.path, item.content_type, metadata)
                        self.queue.note_written(key, item.seq)
        except TransientStorageError as exc:
            self._transient(item, exc)
            return
        except PermanentStorageError as exc:
            self._permanent(item, exc)
            return
        except StorageError as exc:  # an unsorted store error: safer to retry than to park
            self._transient(item, exc)
            return
        elapsed = time.monotonic() - started
        self.queue.ack(item)
        self._breaker.success(time.time())
        self.last_error = None
        metrics.UPLOADS.labels(camera=item.camera, result="ok", reason="ok").inc()
        metrics.UPLOAD_SECONDS.labels(camera=item.camera).observe(elapsed)
        metrics.UPLOAD_BYTES.labels(camera=item.camera).inc(item.size * (1 + len(item.also_keys)))

    def _transient(self, item: QueueItem, exc: StorageError) -> None:
        self.last_error = str(exc)
        now = time.time()
        delay = retry_delay(item.attempts + 1, base_s=self.retry_base_s, cap_s=self.retry_cap_s, rnd=random.random())  # noqa: S311 - jitter, not crypto
        self.queue.retry_later(item, str(exc), delay, now)
        self._breaker.failure(now, str(exc))
        if exc.reason == "NoSuchBucket":
            self._bucket_ready = False
        metrics.UPLOADS.labels(camera=item.camera, result="transient", reason=exc.reason).inc()

    def _permanent(self, item: QueueItem, exc: StorageError) -> None:
        if exc.reason == "NoSuchBucket" and self._bucket_ready:
            # the bucket went away under us: create it again (or learn that we may not) before parking
            self._bucket_ready = False
            self.queue.retry_later(item, str(exc), 0.0)
            self._breaker.success(time.time())  # the store answered; a half-open probe must not stay out
            return
        self.last_error = str(exc)
        self.queue.park(item, str(exc))
        self._breaker.success(time.time())  # the store answered: it is reachable, the item is the problem
        metrics.UPLOADS.labels(camera=item.camera, result="permanent", reason=exc.reason).inc()
        folded = self._park_log(time.monotonic())
        if folded is not None:
            log.error(
                "event=upload_failed_permanently camera=%s queue=%s key=%s reason=%s error=%s "
                "similar_since_last_line=%d action='fix the cause, then run: camops queue retry --queue %s'",
                item.camera,
                self.queue.name,
                item.key,
                exc.reason,
                exc,
                folded,
                self.queue.name,
            )

    def _keeper(self) -> None:
        """Renew in-flight leases every third of ``lease_s``; expire old items every ``housekeeping_s``."""
        renew_every = max(0.05, self.lease_s / 3.0)
        now = time.monotonic()
        next_renew, next_housekeeping = now + renew_every, now + self.housekeeping_s
        while not self._stop.is_set():
            try:
                now = time.monotonic()
                if now >= next_housekeeping:
                    next_housekeeping = now + self.housekeeping_s
                    self.queue.expire()
                if now >= next_renew:
                    next_renew = now + renew_every
                    with self._lock:
                        held = list(self._inflight.values())
                    if held:
                        self.queue.renew(held, self.lease_s)
            except Exception as exc:  # noqa: BLE001 - the keeper must keep renewing; said in the log
                log.warning("event=lease_keeper_error queue=%s error=%s", self.queue.name, redact(exc))
            self._stop.wait(max(0.01, min(next_renew, next_housekeeping) - time.monotonic()))

    def _breaker_changed(self, old: BreakerState, new: BreakerState, detail: str) -> None:
        metrics.set_breaker_state(self.queue.name, new)
        level = logging.WARNING if new != "closed" else logging.INFO
        log.log(
            level,
            "event=storage_breaker state=%s previous=%s store=%s queue=%s detail=%s",
            new,
            old,
            self.store.description,
            self.queue.name,
            redact(detail),
        )

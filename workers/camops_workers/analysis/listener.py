"""The analysis hand-off: a capture listener that POSTs sampled snapshots to an inference endpoint.

``captured()`` runs on the capture thread and only appends to a bounded drop-oldest buffer
(microseconds, never a lock held across I/O). ``max_in_flight`` sender threads take frames
from it, ask the circuit breaker, POST (``analysis.request`` documents the format), and put
the JSON answer into the durable queue as ``<snapshot key>.json`` (an ``ItemKind.ANALYSIS``
capture), then hand an ``AnalysisResult`` to ``on_result`` (the event publisher).

Sampling: every snapshot arrives here; one in ``every_nth_snapshot`` is analysed, so the
analysis rate never exceeds the snapshot rate.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from camops_workers.analysis import metrics
from camops_workers.analysis.buffer import DropOldestBuffer
from camops_workers.analysis.client import Answer, InferenceClient, Outcome
from camops_workers.analysis.reencode import reencode_jpeg
from camops_workers.analysis.request import request_headers
from camops_workers.contract import AnalysisConfig
from camops_workers.items import Capture, CaptureSink, ItemKind
from camops_workers.queue.breaker import BreakerState, CircuitBreaker
from camops_workers.redact import redact

__all__ = ["AnalysisListener", "AnalysisResult", "AnalysisStats", "result_key"]

log = logging.getLogger("camops.analysis")

RESULT_CONTENT_TYPE = "application/json"
_TOKEN_TTL_S = 30.0


def result_key(snapshot_key: str) -> str:
    """Where the answer for ``snapshot_key`` is stored: right beside it."""
    return f"{snapshot_key}.json"


@dataclass(frozen=True)
class AnalysisResult:
    """One answer, as handed to ``on_result``."""

    camera: str
    snapshot_key: str
    result_key: str | None  # None when not stored (store_results off, or queueing failed)
    captured_at: datetime
    status: int | None
    latency_s: float
    body: bytes


@dataclass(frozen=True)
class AnalysisStats:
    offered: int
    sampled: int
    requests: dict[str, int]
    dropped: dict[str, int]
    stored: int
    in_flight: int
    max_in_flight_seen: int
    buffered: int
    breaker_state: str
    reachable: bool | None
    last_error: str | None
    #: capture -> POST start delays of recent requests, seconds (for benchmarks)
    post_delays_s: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class _Frame:
    capture: Capture
    queued_at: float


class AnalysisListener:
    """A ``CaptureListener`` that feeds an inference endpoint without ever slowing capture."""

    def __init__(
        self,
        *,
        camera: str,
        namespace: str,
        config: AnalysisConfig,
        sink: CaptureSink | None,
        on_result: Callable[[AnalysisResult], None] | None = None,
    ) -> None:
        self.camera = camera
        self.namespace = namespace
        self.config = config
        self._sink = sink
        self._on_result = on_result
        self._buffer: DropOldestBuffer[_Frame] = DropOldestBuffer(config.buffer_size)
        self._client = InferenceClient(
            config.endpoint, timeout_s=config.timeout_s, max_connections=config.max_in_flight
        )
        self._breaker = CircuitBreaker(
            failure_threshold=config.breaker_failures,
            base_open_s=config.breaker_open_s,
            max_open_s=config.breaker_max_open_s,
            on_change=self._breaker_changed,
        )
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._offered = 0
        self._sampled = 0
        self._requests: Counter[str] = Counter()
        self._dropped: Counter[str] = Counter()
        self._stored = 0
        self._in_flight = 0
        self._max_in_flight_seen = 0
        self._reachable: bool | None = None
        self._last_error: str | None = None
        self._post_delays: deque[float] = deque(maxlen=2048)
        self._token: str | None = None
        self._token_read_at = -_TOKEN_TTL_S
        self._m_requests = {o: metrics.REQUESTS.labels(camera, o.value) for o in Outcome}
        self._m_latency = metrics.LATENCY.labels(camera)
        self._m_in_flight = metrics.IN_FLIGHT.labels(camera)
        self._m_buffered = metrics.BUFFERED.labels(camera)
        self._m_breaker = metrics.BREAKER_OPEN.labels(camera)
        self._m_stored = metrics.STORED.labels(camera)
        self._m_dropped: dict[str, Any] = {}
        self._threads = [
            threading.Thread(target=self._run, name=f"analysis-{camera}-{i}", daemon=True)
            for i in range(config.max_in_flight)
        ]
        for thread in self._threads:
            thread.start()

    # -- capture thread ------------------------------------------------------------------

    def captured(self, capture: Capture) -> None:
        """Sample and buffer a snapshot; O(1), never blocks, never raises."""
        if capture.kind is not ItemKind.SNAPSHOT or capture.data is None or self._stop.is_set():
            return
        self._offered += 1
        if (self._offered - 1) % self.config.every_nth_snapshot:
            return
        self._sampled += 1
        if self._buffer.put(_Frame(capture, time.monotonic())) is not None:
            self._drop("buffer_full")

    def state_changed(self, camera: str, state: str, detail: str) -> None:
        """Source state changes do not concern the analysis hand-off."""
        del camera, state, detail

    # -- status ----------------------------------------------------------------------------

    @property
    def reachable(self) -> bool | None:
        """None before the first request; then whether the endpoint answers (False while the breaker is open)."""
        if self._breaker.state == "open":
            return False
        with self._lock:
            return self._reachable

    @property
    def breaker_state(self) -> BreakerState:
        return self._breaker.state

    def status_fields(self) -> dict[str, object]:
        """Fields for the worker's ``status.capture`` report."""
        stats = self.stats()
        return {"analysisReachable": stats.reachable, "analysisDropped": sum(stats.dropped.values())}

    def stats(self) -> AnalysisStats:
        with self._lock:
            return AnalysisStats(
                offered=self._offered,
                sampled=self._sampled,
                requests=dict(self._requests),
                dropped=dict(self._dropped),
                stored=self._stored,
                in_flight=self._in_flight,
                max_in_flight_seen=self._max_in_flight_seen,
                buffered=len(self._buffer),
                breaker_state=self._breaker.state,
                reachable=False if self._breaker.state == "open" else self._reachable,
                last_error=self._last_error,
                post_delays_s=list(self._post_delays),
            )

    def close(self, timeout: float = 5.0) -> None:
        """Stop the senders; frames still buffered are dropped (counted as ``shutdown``)."""
        self._stop.set()
        self._buffer.close()
        for _ in self._buffer.drain():
            self._drop("shutdown")
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._client.close()

    # -- sender threads --------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            frame = self._buffer.get(timeout=0.5)
            self._m_buffered.set(len(self._buffer))
            if frame is None:
                continue
            try:
                self._analyse(frame)
            except Exception as exc:  # noqa: BLE001 - a bug must not kill the sender; counted and said
                self._drop("failed")
                self._note_error(f"analysis failed: {redact(exc)}")

    def _analyse(self, frame: _Frame) -> None:
        if not self._breaker.allow(time.monotonic()):
            self._drop("circuit_open")
            return
        capture = frame.capture
        assert capture.data is not None  # noqa: S101 - captured() only buffers in-memory snapshots
        body = reencode_jpeg(capture.data, quality=self.config.jpeg_quality, max_width=self.config.max_width)
        token = self._bearer_token()
        headers = request_headers(
            camera=self.camera,
            namespace=self.namespace,
            key=capture.key,
            captured_at=capture.captured_at,
            extra=self.config.headers,
            token=token,
        )
        with self._lock:
            self._in_flight += 1
            self._max_in_flight_seen = max(self._max_in_flight_seen, self._in_flight)
            self._post_delays.append(time.monotonic() - frame.queued_at)
        self._m_in_flight.inc()
        try:
            answer = self._client.post(body, headers, secrets=(token,) if token else ())
        finally:
            with self._lock:
                self._in_flight -= 1
            self._m_in_flight.dec()
        self._account(answer)
        if not answer.outcome.reachable or answer.outcome is Outcome.INVALID:
            self._drop("failed")
            return
        stored_key = self._store(capture, answer) if answer.outcome is Outcome.OK else None
        if self._on_result is not None and answer.outcome is Outcome.OK:
            self._on_result(
                AnalysisResult(
                    camera=self.camera,
                    snapshot_key=capture.key,
                    result_key=stored_key,
                    captured_at=capture.captured_at,
                    status=answer.status,
                    latency_s=answer.latency_s,
                    body=answer.body,
                )
            )

    def _account(self, answer: Answer) -> None:
        self._m_requests[answer.outcome].inc()
        self._m_latency.observe(answer.latency_s)
        with self._lock:
            self._requests[answer.outcome.value] += 1
            self._reachable = answer.outcome.reachable
            if answer.error:
                self._last_error = answer.error
        if answer.outcome.reachable:
            self._breaker.success(time.monotonic())
        else:
            self._breaker.failure(time.monotonic(), answer.error or answer.outcome.value)

    def _breaker_changed(self, old: BreakerState, new: BreakerState, detail: str) -> None:
        """One log line per breaker transition (never one per refused frame)."""
        self._m_breaker.set(0 if new == "closed" else 1)
        if new == "open":
            log.warning("camera=%s event=analysis_circuit_open from=%s detail=%s", self.camera, old, detail)
        else:
            log.info("camera=%s event=analysis_circuit_%s detail=%s", self.camera, new.replace("-", "_"), detail)

    def _store(self, capture: Capture, answer: Answer) -> str | None:
        if not self.config.store_results or self._sink is None:
            return None
        key = result_key(capture.key)
        item = Capture(
            camera=capture.camera,
            kind=ItemKind.ANALYSIS,
            captured_at=capture.captured_at,
            key=key,
            content_type=RESULT_CONTENT_TYPE,
            data=answer.body,
            metadata={"camops-snapshot-key": capture.key},
            also_keys=tuple(result_key(k) for k in capture.also_keys),
        )
        try:
            self._sink.put(item)
        except Exception as exc:  # noqa: BLE001 - QueueFull, OSError: counted, said, capture unaffected
            self._drop("store_failed")
            self._note_error(f"could not queue {key}: {redact(exc)}")
            return None
        with self._lock:
            self._stored += 1
        self._m_stored.inc()
        return key

    def _bearer_token(self) -> str | None:
        ref = self.config.bearer_token
        if ref is None:
            return None
        now = time.monotonic()
        if now - self._token_read_at >= _TOKEN_TTL_S:  # re-read so a rotated Secret is picked up
            token = ref.read()
            if token is None and (self._token is not None or self._token_read_at < 0):
                log.warning(
                    "camera=%s event=analysis_token_missing where=%s: requests go without Authorization",
                    self.camera,
                    ref.file or f"${ref.env}",
                )
            self._token = token
            self._token_read_at = now
        return self._token

    def _drop(self, reason: str) -> None:
        child = self._m_dropped.get(reason)
        if child is None:
            child = self._m_dropped[reason] = metrics.DROPPED.labels(self.camera, reason)
        child.inc()
        with self._lock:
            self._dropped[reason] += 1

    def _note_error(self, message: str) -> None:
        with self._lock:
            first = self._last_error != message
            self._last_error = message
        if first:
            log.warning("camera=%s event=analysis_error error=%s", self.camera, message)

"""One camera's capture worker: a supervised session on the source, snapshots and segments into the queue.

``CaptureWorker.run(stop)`` keeps one session open on the camera (or, for long intervals with
nothing recorded, opens one per snapshot), demuxes every packet, decodes only what a due
snapshot needs (keyframe gating), remuxes packets into MP4 segments when recording, and puts
everything into the ``CaptureSink`` (the durable queue). When the source fails it reconnects
with capped exponential backoff and jitter (``RECONNECT_BACKOFF``); a session that delivered a
picture resets the backoff, so a camera that comes back is captured again within a few seconds
whatever its history. An unexpected exception inside a session is a failure like any other:
counted, its error in the state, backoff, retry; never a dead thread. It logs one line per
state change, and repeated identical failures only on attempts 1, 2, 4, 8, ...
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from camops_workers.backoff import Backoff, BackoffPolicy
from camops_workers.capture.jpeg import THUMBNAIL_QUALITY, THUMBNAIL_WIDTH, encode_frame
from camops_workers.capture.metrics import CaptureMetrics
from camops_workers.capture.recovery import WORK_DIR, note_keys, recover_segments, segment_capture
from camops_workers.capture.sampler import (
    GateMode,
    SessionKind,
    StreamClock,
    advance_due,
    advance_due_s,
    choose_session,
    gate_mode,
    is_due,
    session_first_due_s,
    should_log_failure,
    stay_synced,
    stream_due_s,
    update_gop,
)
from camops_workers.capture.segments import ClosedSegment, SegmentWriter
from camops_workers.capture.stream_info import FrameRateMeter, StreamInfo, stream_info
from camops_workers.capture.stream_source import SourceError, StreamSource
from camops_workers.contract import WorkerConfig
from camops_workers.items import Capture, CaptureListener, CaptureSink, ItemKind
from camops_workers.outages import Announcement, Outage, OutageMetrics, OutageTimeline
from camops_workers.picture import PictureJudge, Thumbnail, Verdict, thumbnail_from_frame, thumbnail_from_jpeg
from camops_workers.picture.metrics import PictureMetrics
from camops_workers.redact import redact
from camops_workers.storage.keys import Layout, latest_key, object_key, thumbnail_key
from camops_workers.timeline import outage_record, picture_record, record_key

__all__ = ["CaptureWorker", "WorkerState"]

log = logging.getLogger("camops.capture")

#: Outages kept in status.capture.outages.
OUTAGES_KEPT = 10

#: Reconnect backoff. A camera that returns must be captured again within a second or so, whatever
#: its history (a camera up 5 s at a time is otherwise missed for most of its up-time; a fresh RTSP
#: session needs ~0.6 s before its first picture on top of the wait), so no wait is longer than 5 %
#: of the outage so far: 0.25-0.5 s while a camera has been away for seconds, rising to the 5 s cap
#: only after ~100 s away. A site that is down for long costs one attempt per camera every ~5 s (at
#: 1000 cameras, 200 a second for the whole fleet, not 2000). Attempts that hang (unreachable host)
#: are spaced by their own connect timeout; logs stay at attempts 1, 2, 4, 8, ...
RECONNECT_BACKOFF = BackoffPolicy(base_s=0.25, cap_s=5.0, jitter=0.2, outage_share=0.05)
#: Packets kept since the last keyframe (GOP longer than the interval); more drops the buffer.
MAX_GOP_PACKETS = 1500
MAX_GOP_BYTES = 64 * 1024 * 1024
#: Pictures held while a session's clock settles (each a decoded frame); more are stamped at once.
MAX_PENDING_PICTURES = 4
#: Packets decoded after a due one waiting for its reordered picture (B-frames) before the latest
#: earlier picture is taken instead.
MAX_REORDER_WAIT = 16


@dataclass(frozen=True)
class WorkerState:
    source_state: str
    snapshots: int
    segments: int
    bytes: int
    reconnects: int
    decode_errors: int
    source_errors: int
    last_snapshot_at: datetime | None
    last_snapshot_key: str | None
    last_error: str | None
    #: The picture's health after the newest snapshot (None: not judged, spec.health disabled).
    picture: Verdict | None = None
    #: The last outages of the source (the open one last) and the seconds of the closed ones.
    outages: tuple[Outage, ...] = ()
    outage_seconds: float = 0.0
    #: Codec, picture size, declared and measured frame rate of the source.
    stream: StreamInfo | None = None
    #: Segments cut short because the muxer refused a packet (timestamps going backwards or repeated).
    segment_errors: int = 0


class _StopRequestedError(Exception):
    """Raised inside a session when the stop event is set."""


@dataclass(slots=True)
class _GateState:
    #: the next snapshot's due time on the stream's clock (seconds)
    due_s: float | None = None
    gop_s: float | None = None
    last_key_s: float | None = None
    synced: bool = False
    buffer: list[Any] | None = None
    buffer_bytes: int = 0
    #: A snapshot is due but the decoder has not output its picture yet (B-frame reordering):
    #: the due packet's stream time, the latest earlier picture, and packets waited so far.
    want_s: float | None = None
    held: Any = None
    waited: int = 0
    #: The stream clock has seen a packet arrive at live pace. Until then (the burst a session
    #: starts with) wall times are only upper bounds, so due pictures wait in ``pending`` with
    #: their stream time and are stamped once the clock knows better.
    settled: bool = False
    pending: list[tuple[Any, float]] = field(default_factory=list)
    newest_s: float | None = None


class CaptureWorker:
    """Captures one camera until ``stop`` is set. Thread-safe ``state()`` for health and status."""

    def __init__(
        self,
        config: WorkerConfig,
        sink: CaptureSink,
        listeners: Sequence[CaptureListener] = (),
        *,
        metrics: CaptureMetrics | None = None,
        rand: Callable[[], float] = random.random,
        session_crossover_s: float | None = None,
    ) -> None:
        self.config = config
        self.camera = config.camera
        self._sink = sink
        self._listeners = list(listeners)
        self.metrics = metrics or CaptureMetrics(config.camera)
        judged = config.health.enabled and config.snapshots.enabled
        self._judge = PictureJudge(config.health) if judged else None
        self._picture_metrics = PictureMetrics(config.camera, self.metrics.registry) if judged else None
        self._outages = OutageTimeline(keep=OUTAGES_KEPT, debounce_s=config.source.outage_debounce_s)
        self._outage_metrics = OutageMetrics(config.camera, self.metrics.registry)
        self._crossover = session_crossover_s
        self._lock = threading.Lock()
        self._state = WorkerState("connecting", 0, 0, 0, 0, 0, 0, None, None, None)
        self._logged_error: str | None = None
        self.last_packet_monotonic: float | None = None
        self.loop_monotonic = time.monotonic()
        self._secrets: list[str] = []
        self._failed_before = False
        self._backoff = Backoff(RECONNECT_BACKOFF, rand)
        self._traced_error: str | None = None
        #: where ``last_error`` came from: "source" (cleared when a picture arrives again) or
        #: "sink" (cleared when the queue takes an item again)
        self._error_origin: str | None = None
        #: capture time of the newest snapshot, so a reopened session keeps the interval
        self._last_taken: datetime | None = None
        #: the open session's stream clock: a segment's start gets its true time from it when handed over
        self._clock: StreamClock | None = None

    # -- state -------------------------------------------------------------------------------

    def state(self) -> WorkerState:
        with self._lock:
            return self._state

    def _update(self, **changes: Any) -> WorkerState:
        with self._lock:
            self._state = replace(self._state, **changes)
            return self._state

    def _set_source_state(self, state: str, detail: str = "", *, announce: bool = True) -> None:
        previous = self.state().source_state
        self._update(source_state=state)
        self.metrics.set_state(state)
        if state != previous and announce:
            self._notify_state(state, detail)

    def _notify_state(self, state: str, detail: str) -> None:
        for listener in self._listeners:
            with contextlib.suppress(Exception):
                listener.state_changed(self.camera, state, detail)

    # -- entry -------------------------------------------------------------------------------

    def session_kind(self) -> SessionKind:
        """Persistent or per snapshot (``sampler.choose_session``); a looped file is always persistent."""
        if self.config.source.url.startswith("file://"):
            return SessionKind.PERSISTENT
        kwargs: dict[str, Any] = {}
        if self._crossover is not None:
            kwargs["crossover_s"] = self._crossover
        return choose_session(
            self.config.source.session,
            interval_s=self.config.snapshots.interval_s,
            snapshots=self.config.snapshots.enabled,
            recording=self.config.recording.enabled,
            **kwargs,
        )

    def run(self, stop: threading.Event) -> None:
        """Capture until ``stop`` is set; never raises for source or storage failures."""
        url = self.config.source.url
        kind = "http" if url.startswith(("http://", "https://")) else self.session_kind().value
        log.info("capture starting camera=%s source=%s mode=%s", self.camera, redact(url), kind)
        writer = None
        if self.config.recording.enabled and kind != "http":
            writer = SegmentWriter(
                self._work_dir(),
                self.camera,
                self.config.recording.segment_duration_s,
                make_room=getattr(self._sink, "make_room", None),  # the queue's free-space reserve covers the segment
            )
            # what a killed worker was recording (whole fragments); noted first, so a drain can do it too
            note_keys(self._work_dir(), self.camera, self.config.storage)
            recover_segments(writer, self._store_segment)
        try:
            if kind == "http":
                self._run_http(stop)
            else:
                self._supervise(stop, writer, per_snapshot=kind == SessionKind.PER_SNAPSHOT.value)
        finally:
            if writer is not None:
                self._close_segment(writer, discard=False)
            self._set_source_state("stopped", "worker stopping")
            log.info("capture stopped camera=%s", self.camera)

    def _work_dir(self) -> Path:
        return Path(self.config.queue.directory) / WORK_DIR

    def _credentials(self) -> tuple[str | None, str | None]:
        src = self.config.source
        user = src.username.read() if src.username else None
        password = src.password.read() if src.password else None
        self._secrets = [s for s in (user, password) if s]
        return user, password

    # -- supervision -------------------------------------------------------------------------

    def _supervise(self, stop: threading.Event, writer: SegmentWriter | None, *, per_snapshot: bool) -> None:
        while not stop.is_set():
            self.loop_monotonic = time.monotonic()
            self._set_source_state("connecting", announce=False)
            try:
                if per_snapshot:
                    self._per_snapshot_session(stop)
                else:
                    self._persistent_session(stop, writer)
                error = "stream ended"
            except _StopRequestedError:
                break
            except SourceError as exc:
                error = str(exc)
                self.metrics.source_error("session")
            except Exception as exc:  # noqa: BLE001 - a bug or a garbage stream: counted, said, retried
                error = self._unexpected(exc)
            else:
                self.metrics.source_error("session")
            if writer is not None:
                self._close_segment(writer, discard=False)
            if stop.is_set():
                break
            self._source_failed(error)
            delay = self._backoff.next_delay()
            self._enter_backoff(self._backoff.attempt, error, delay)
            stop.wait(delay)

    def _unexpected(self, exc: Exception) -> str:
        """An exception nothing sorted (a bug, a stream nobody planned for): its redacted error, counted."""
        self.metrics.source_error("unexpected")
        error = redact(f"unexpected {type(exc).__name__}: {exc}", self._secrets)
        if error != self._traced_error:  # the traceback once per distinct error, not once per retry
            self._traced_error = error
            # The traceback as redacted text: an exception's message may carry the URL with its userinfo.
            trace = redact("".join(traceback.format_exception(exc)), self._secrets)
            log.error("capture loop failed camera=%s error=%s\n%s", self.camera, error, trace.rstrip())
        return error

    def _source_failed(self, error: str) -> None:
        self._error_origin = "source"
        self._update(source_errors=self.state().source_errors + 1, last_error=error)

    def _picture_delivered(self) -> None:
        """The session delivered a picture: the camera works, so the next failure starts the backoff afresh."""
        self._backoff.reset()
        if self._error_origin == "source":
            self._error_origin = None
            self._update(last_error=None)

    def _enter_backoff(self, attempt: int, error: str, delay: float) -> None:
        log_it = should_log_failure(attempt, error, self._logged_error)
        if log_it:
            log.warning(
                "source failed camera=%s attempt=%d retry_in=%.2fs error=%s", self.camera, attempt, delay, error
            )
            self._logged_error = error
        previous = self.state().source_state
        self._failed_before = True
        self._set_source_state("backoff", error, announce=False)
        if previous == "connected" or log_it:
            self._notify_state("backoff", error)
        now = datetime.now(UTC)
        if self._outages.open is None:
            self._outages.away(now, error)
            self._outage_metrics.outages.inc()
        self._outage_changed(self._outages.due(now))

    def _outage_changed(self, announcement: Announcement | None, closed: Outage | None = None) -> None:
        """Keep the timeline in the state; count a closed outage; tell listeners what is announced."""
        if closed is not None:
            self._outage_metrics.seconds.inc(closed.seconds(closed.end or closed.start))
            log.info(
                "source was away camera=%s for=%.1fs reason=%s",
                self.camera,
                closed.seconds(closed.start),
                closed.reason,
            )
        self._update(outages=tuple(self._outages.recent()), outage_seconds=self._outages.total_s)
        if announcement is None:
            return
        for listener in self._listeners:
            notify = getattr(listener, "outage_changed", None)
            if notify is not None:
                with contextlib.suppress(Exception):
                    notify(self.camera, announcement)

    def _connected(self) -> None:
        if self.state().source_state != "connected":
            if self._failed_before:
                self.metrics.reconnects.inc()
                self._update(reconnects=self.state().reconnects + 1)
            log.info("source connected camera=%s", self.camera)
            self._logged_error = None
            self._set_source_state("connected", "")
            closed, announcement = self._outages.back(datetime.now(UTC))
            if closed is not None:
                self._outage_changed(announcement, closed)
                self._store_record("outage", closed.start, outage_record(self.camera, closed))

    # -- persistent session ------------------------------------------------------------------

    def _open(self) -> StreamSource:
        user, password = self._credentials()
        src = self.config.source
        source = StreamSource(
            src.url,
            username=user,
            password=password,
            transport=src.transport,
            connect_timeout_s=src.connect_timeout_s,
            stall_timeout_s=src.stall_timeout_s,
        )
        source.open()
        return source

    def _persistent_session(self, stop: threading.Event, writer: SegmentWriter | None) -> None:
        source = self._open()
        gate = _GateState()
        clock: StreamClock | None = None
        self._clock = None
        started = datetime.now(UTC)
        try:
            stream = source.stream
            tb = float(stream.time_base)
            decoder = stream.codec_context
            snapshots = self.config.snapshots.enabled
            interval = self.config.snapshots.interval_s
            stall = self.config.source.stall_timeout_s
            self._update(stream=stream_info(stream))
            meter = FrameRateMeter()
            for packet in source.packets(stop):
                now_m = time.monotonic()
                self.loop_monotonic = now_m
                self.last_packet_monotonic = now_m
                self.metrics.packets.inc()
                if packet.pts is None:
                    continue
                if self.state().source_state != "connected":
                    self._connected()
                stream_s = float(packet.pts * tb)
                self._count_frame(meter, stream_s)
                now = datetime.now(UTC)
                if clock is None:
                    clock = StreamClock.start(stream_s, now, max_drift_s=max(2.0, stall))
                    started = now
                wall, moved = clock.map(stream_s, now)
                if not gate.settled and (
                    (not moved.early and gate.newest_s is not None and stream_s > gate.newest_s)
                    or (now - started).total_seconds() > clock.max_drift_s
                ):
                    self._settle(gate, moved, now)
                clock = self._clock = moved
                gate.newest_s = stream_s if gate.newest_s is None else max(gate.newest_s, stream_s)
                if snapshots:
                    self._gate_packet(gate, decoder, packet, stream_s=stream_s, wall=wall, interval=interval)
                elif packet.is_keyframe:
                    self._picture_delivered()  # recording only: a keyframe is the picture
                if writer is not None:
                    self._record(writer, packet, stream, stream_s=stream_s, wall=wall)
        finally:
            if gate.pending and clock is not None:
                self._settle(gate, clock, datetime.now(UTC))
            source.close()
        if stop.is_set():
            raise _StopRequestedError

    def _settle(self, gate: _GateState, clock: StreamClock, now: datetime) -> None:
        """The clock is settled: stamp the pictures held since the session started and store them."""
        gate.settled = True
        pending, gate.pending = gate.pending, []
        for frame, picture_s in pending:
            self._snapshot(frame, clock.wall_of(picture_s, not_after=now))

    def _emit(self, gate: _GateState, frame: Any, picture_s: float, wall: datetime) -> None:
        """Snapshot ``frame`` (stream time ``picture_s``, arrived by ``wall``), or hold it until the clock settles."""
        if gate.settled:
            self._snapshot(frame, wall)
            return
        self._picture_delivered()
        gate.pending.append((frame, picture_s))
        if len(gate.pending) > MAX_PENDING_PICTURES:
            oldest, _ = gate.pending.pop(0)
            self._snapshot(oldest, wall)

    def _count_frame(self, meter: FrameRateMeter, stream_s: float) -> None:
        """One frame at ``stream_s``: a new measured frame rate in the state every few stream seconds."""
        rate = meter.add(stream_s)
        info = self.state().stream
        if rate is not None and info is not None:
            self._update(stream=replace(info, measured_fps=rate))

    def replay(self, stream: Any, packets: Iterable[Any], start: datetime) -> None:
        """Push recorded packets through the persistent session's snapshot path at full speed.

        Stream time is mapped onto ``start`` without pacing; benchmarks use it to measure the
        gated decode's CPU over minutes of video in seconds.
        """
        gate = _GateState(settled=True)  # no clock to settle: stream time is wall time here
        decoder = stream.codec_context
        interval = self.config.snapshots.interval_s
        tb = float(stream.time_base)
        for packet in packets:
            self.metrics.packets.inc()
            if packet.pts is None:
                continue
            stream_s = packet.pts * tb
            wall = start + timedelta(seconds=stream_s)
            self._gate_packet(gate, decoder, packet, stream_s=stream_s, wall=wall, interval=interval)

    def _gate_packet(
        self, gate: _GateState, decoder: Any, packet: Any, *, stream_s: float, wall: datetime, interval: float
    ) -> None:
        """Feed the decoder only what the next due snapshot needs (see ``sampler.gate_mode``)."""
        is_key = bool(packet.is_keyframe)
        if is_key:
            gate.gop_s = update_gop(gate.gop_s, gate.last_key_s, stream_s)
            gate.last_key_s = stream_s
        if gate.due_s is None:
            since = (wall - self._last_taken).total_seconds() if self._last_taken is not None else None
            gate.due_s = session_first_due_s(stream_s, interval, since)
        gate.due_s = stream_due_s(gate.due_s, stream_s, interval)
        due_now = is_due(stream_s, gate.due_s, interval)
        if gate_mode(gate.gop_s, interval) is GateMode.BUFFER:
            self._gate_buffered(gate, decoder, packet, is_key=is_key, due_now=due_now, stream_s=stream_s, wall=wall)
            return
        gate.buffer = None
        gate.want_s, gate.held = None, None
        if gate.synced:
            self._flush(decoder)
            gate.synced = False
        if due_now and is_key:
            frame = self._decode([packet], decoder)
            if frame is not None:
                self._emit(gate, frame, stream_s, wall)
                gate.due_s = advance_due_s(gate.due_s, interval, stream_s)

    def _gate_buffered(
        self,
        gate: _GateState,
        decoder: Any,
        packet: Any,
        *,
        is_key: bool,
        due_now: bool,
        stream_s: float,
        wall: datetime,
    ) -> None:
        """The GOP is longer than the interval: keep the packets the decoder has not seen since the
        last keyframe and, when due, decode them in one burst (non-reference frames skipped).

        After a snapshot the decoder stays synced (its references kept) when the next snapshot
        falls before the next keyframe; the packets in between are still only kept, not decoded,
        and the next due time decodes them in one go from where the decoder stopped, so no frame
        is decoded twice. A stream with B-frames outputs pictures late (reordering): then the
        packets after the due one are decoded as they come until the due picture comes out.
        """
        if gate.due_s is None:
            return
        if is_key:
            if gate.want_s is not None:
                # The reordered due picture is still inside the decoder: drain it out.
                self._take_due_picture(gate, decoder, self._drain(decoder), wall, stream_s, force=True)
            if gate.synced:
                self._flush(decoder)
                gate.synced = False
            gate.buffer = [_copy_packet(packet)]
            gate.buffer_bytes = packet.size
        elif gate.buffer is not None:
            gate.buffer.append(_copy_packet(packet))
            gate.buffer_bytes += packet.size
            if len(gate.buffer) > MAX_GOP_PACKETS or gate.buffer_bytes > MAX_GOP_BYTES:
                gate.buffer = None  # wait for the next keyframe
                gate.want_s, gate.held = None, None
                if gate.synced:
                    self._flush(decoder)
                    gate.synced = False
        if not gate.buffer or not (due_now or gate.want_s is not None):
            return
        pending, gate.buffer, gate.buffer_bytes = gate.buffer, [], 0
        frames = self._decoded(pending, decoder)
        gate.synced = True
        if gate.want_s is None:
            gate.want_s, gate.waited = stream_s, 0
        else:
            gate.waited += 1
        self._take_due_picture(gate, decoder, frames, wall, stream_s, force=False)

    def _take_due_picture(
        self, gate: _GateState, decoder: Any, frames: Iterable[Any], wall: datetime, stream_s: float, *, force: bool
    ) -> None:
        """Snapshot the first picture at or after the due packet's time once the decoder outputs it;
        with ``force`` (or after ``MAX_REORDER_WAIT`` packets) the latest picture so far."""
        want = gate.want_s
        chosen = None
        came_out = False
        for frame in frames:  # consumed to the end: every packet must reach the decoder
            came_out = True
            t = frame.time
            if chosen is None and want is not None and (t is None or t >= want - 1e-6):
                chosen = frame
            elif chosen is None:
                gate.held = frame
        if want is None or gate.due_s is None:
            return
        reorders = bool(decoder.has_b_frames)
        if chosen is None and (force or gate.waited >= MAX_REORDER_WAIT or (came_out and not reorders)):
            chosen = gate.held
        if chosen is None:
            return  # not out yet: the next packets are decoded as they come
        gate.want_s, gate.held = None, None
        t = chosen.time
        # A reordered picture may be stamped after the packet in hand: never later than its arrival.
        taken = wall + timedelta(seconds=min(0.0, t - stream_s)) if t is not None else wall
        self._emit(gate, chosen, stream_s if t is None else min(t, stream_s), taken)
        gate.due_s = advance_due_s(gate.due_s, self.config.snapshots.interval_s, stream_s if t is None else t)
        self._maybe_unsync(gate, stream_s, decoder)

    def _maybe_unsync(self, gate: _GateState, stream_s: float, decoder: Any) -> None:
        """Stop decoding the rest of this GOP when the next snapshot falls after its next keyframe."""
        if gate.gop_s is None or gate.last_key_s is None or gate.due_s is None:
            return
        until_due = gate.due_s - stream_s
        until_key = gate.last_key_s + gate.gop_s - stream_s
        if not stay_synced(until_due, until_key):
            self._flush(decoder)
            gate.synced = False
            gate.buffer = None  # decoding restarts at the next keyframe

    def _decoded(self, packets: Sequence[Any], decoder: Any) -> Iterator[Any]:
        """Feed ``packets`` to an open decoder, non-reference frames before the last one skipped,
        and yield the pictures as they come out. Callers keep only the pictures they need: a
        burst of a whole GOP held at once would pin one 3 MB buffer per 1080p picture.

        Streams without B-frames (most IP cameras) have no non-reference frames to skip. Skipping
        the loop filter would save about a quarter of each P-frame's decode, but PyAV sets
        ``skip_loop_filter`` only when the decoder opens, so the snapshot's own picture would lose
        it too (measured 41-54 dB PSNR against the exact picture, block edges up to 30 levels off
        on a 1080p clip): not used, snapshots stay exact."""
        import av

        last = len(packets) - 1
        count = 0
        try:
            for i, packet in enumerate(packets):
                decoder.skip_frame = "NONREF" if i < last else "DEFAULT"
                try:
                    out = decoder.decode(packet)
                except (av.FFmpegError, ValueError):
                    self._decode_error()
                    return
                for frame in out:
                    count += 1
                    yield frame
        finally:
            decoder.skip_frame = "DEFAULT"
            self.metrics.frames_decoded.inc(count)

    def _drain(self, decoder: Any) -> list[Any]:
        """The pictures still held by the decoder (reordering delay); the decoder must be flushed after."""
        import av

        try:
            frames = list(decoder.decode(None))
        except (av.FFmpegError, ValueError):
            return []
        self.metrics.frames_decoded.inc(len(frames))
        return frames

    def _decode(self, packets: Sequence[Any], decoder: Any) -> Any | None:
        """Decode ``packets`` (a keyframe first) from a flushed decoder and return the last picture;
        non-reference frames before the last packet are skipped. The decoder is flushed after."""
        picture = None
        try:
            for frame in self._decoded(packets, decoder):
                picture = frame
            if picture is None:
                drained = self._drain(decoder)
                picture = drained[-1] if drained else None
        finally:
            self._flush(decoder)
        return picture

    def _flush(self, decoder: Any) -> None:
        with contextlib.suppress(Exception):
            decoder.flush_buffers()

    def _decode_error(self) -> None:
        self.metrics.decode_errors.inc()
        self._update(decode_errors=self.state().decode_errors + 1)

    # -- per-snapshot session ----------------------------------------------------------------

    def _per_snapshot_session(self, stop: threading.Event) -> None:
        """Open, take the first keyframe's picture, close, and sleep until the next one is due."""
        interval = self.config.snapshots.interval_s
        now = datetime.now(UTC)
        since = (now - self._last_taken).total_seconds() if self._last_taken is not None else None
        due = now + timedelta(seconds=session_first_due_s(0.0, interval, since))  # no double after a retry
        if due > now and stop.wait((due - now).total_seconds()):
            raise _StopRequestedError
        while not stop.is_set():
            source = self._open()
            frame = None
            arrived = datetime.now(UTC)
            try:
                decoder = source.stream.codec_context
                self._update(stream=stream_info(source.stream))
                deadline = time.monotonic() + self.config.source.stall_timeout_s
                for packet in source.packets(stop):
                    self.last_packet_monotonic = time.monotonic()
                    self.loop_monotonic = self.last_packet_monotonic
                    self.metrics.packets.inc()
                    if packet.is_keyframe:
                        arrived = datetime.now(UTC)  # the picture was taken before its packet arrived
                        frame = self._decode([packet], decoder)
                        if frame is not None:
                            break
                    if time.monotonic() > deadline:
                        raise SourceError("no decodable keyframe before the stall timeout")
            finally:
                # Closed before encoding: the decoder's tables are freed before the JPEG buffers are
                # allocated, which keeps the process's peak memory lower.
                source.close()
            if frame is not None:
                self._connected()
                self._snapshot(frame, arrived)
                del frame
                due = advance_due(due, interval, arrived)
            wait = (due - datetime.now(UTC)).total_seconds()
            if wait > 0 and stop.wait(wait):
                break
        raise _StopRequestedError

    # -- HTTP snapshot cameras ---------------------------------------------------------------

    def _run_http(self, stop: threading.Event) -> None:
        # Imported here: httpx (and the CLI extras it pulls in) costs ~10 MB an RTSP worker never needs.
        from camops_workers.capture.http_source import HttpSnapshotSource, SnapshotError

        src = self.config.source
        interval = self.config.snapshots.interval_s
        due = datetime.now(UTC)
        source: HttpSnapshotSource | None = None
        try:
            while not stop.is_set():
                self.loop_monotonic = time.monotonic()
                try:
                    if source is None:  # credentials read afresh: a corrected Secret is used at once
                        user, password = self._credentials()
                        source = HttpSnapshotSource(
                            src.url, username=user, password=password, timeout_s=src.connect_timeout_s
                        )
                    snap = source.fetch()
                    # The camera took the picture while answering: at the latest, now.
                    taken = datetime.now(UTC)
                    self.last_packet_monotonic = time.monotonic()
                    self._connected()
                    self._picture_delivered()
                    if self.state().stream is None:
                        self._update(stream=StreamInfo("jpeg", snap.info.width, snap.info.height))
                    self._store_snapshot(snap.data, taken, snap.info.width, snap.info.height)
                except SnapshotError as exc:
                    self.metrics.source_error(exc.reason)
                    error = f"{exc.reason}: {redact(exc, self._secrets)}"
                    if exc.reason == "unauthorized" and source is not None:
                        source.close()
                        source = None  # the next try reads the credentials again (a corrected Secret)
                    self._http_failed(error, self._backoff.next_delay(), interval, stop)
                    due = datetime.now(UTC)
                    continue
                except Exception as exc:  # noqa: BLE001 - a bug or an answer nobody planned for: counted, retried
                    if source is not None:
                        source.close()
                        source = None  # start again from a fresh session
                    self._http_failed(self._unexpected(exc), self._backoff.next_delay(), interval, stop)
                    due = datetime.now(UTC)
                    continue
                due = advance_due(due, interval, taken)
                wait = (due - datetime.now(UTC)).total_seconds()
                if wait > 0:
                    stop.wait(wait)
        finally:
            if source is not None:
                source.close()

    def _http_failed(self, error: str, backoff_s: float, interval: float, stop: threading.Event) -> None:
        """A failed fetch: counted, in the state, and the camera asked again after the interval or the backoff."""
        self._source_failed(error)
        delay = max(interval, backoff_s)
        self._enter_backoff(self._backoff.attempt, error, delay)
        stop.wait(delay)

    # -- output ------------------------------------------------------------------------------

    def _snapshot(self, frame: Any, captured_at: datetime) -> None:
        self._picture_delivered()
        self._last_taken = captured_at
        snap = self.config.snapshots
        started = time.perf_counter()
        try:
            data = encode_frame(frame, snap.quality, snap.max_width)
        except (ValueError, RuntimeError) as exc:
            self._decode_error()
            log.warning("snapshot encode failed camera=%s error=%s", self.camera, redact(exc, self._secrets))
            return
        self.metrics.jpeg_seconds.observe(time.perf_counter() - started)
        width, height = frame.width, frame.height
        if snap.max_width and width > snap.max_width:
            from camops_workers.capture.jpeg import scaled_size

            width, height = scaled_size(width, height, snap.max_width)
        thumb: bytes | None = None
        with contextlib.suppress(ValueError, RuntimeError):  # no thumbnail is no reason to lose the snapshot
            thumb = encode_frame(frame, THUMBNAIL_QUALITY, THUMBNAIL_WIDTH)
        picture = None
        if self._judge is not None:
            with contextlib.suppress(ValueError, RuntimeError):
                picture = thumbnail_from_frame(frame)
        self._store_snapshot(data, captured_at, width, height, thumb=thumb, picture=picture)

    def _store_snapshot(
        self,
        data: bytes,
        captured_at: datetime,
        width: int,
        height: int,
        *,
        thumb: bytes | None = None,
        picture: Thumbnail | None = None,
    ) -> None:
        if thumb is None and picture is None:  # an HTTP camera's JPEG: one decode for both
            thumb, picture = self._thumbnails_from_jpeg(data)
        self._judge_picture(data, captured_at, picture)
        storage = self.config.storage
        key = object_key(storage.layout, storage.prefix, self.camera, captured_at, "jpg")
        also = (latest_key(storage.prefix, self.camera),) if storage.layout == Layout.DATED else ()
        capture = Capture(
            camera=self.camera,
            kind=ItemKind.SNAPSHOT,
            captured_at=captured_at,
            key=key,
            content_type="image/jpeg",
            data=data,
            metadata={"width": str(width), "height": str(height)},
            also_keys=also,
        )
        if not self._put(capture):
            return
        self.metrics.snapshots.inc()
        self.metrics.add_bytes("snapshot", len(data))
        self.metrics.last_snapshot.set(captured_at.timestamp())
        state = self.state()
        self._update(
            snapshots=state.snapshots + 1,
            bytes=state.bytes + len(data),
            last_snapshot_at=captured_at,
            last_snapshot_key=key,
        )
        self._announce(capture)
        self._store_thumbnail(data, captured_at, thumb)

    def _thumbnails_from_jpeg(self, data: bytes) -> tuple[bytes | None, Thumbnail | None]:
        """``latest.thumb.jpg`` and the judge's luma thumbnail of a JPEG, decoded once at a reduced DCT scale."""
        from camops_workers.capture.jpeg import thumbnails_from_jpeg

        try:
            return thumbnails_from_jpeg(data, judged=self._judge is not None)
        except (ValueError, RuntimeError, OSError):
            return None, None  # each is tried again on its own below, and said when it fails

    def _judge_picture(self, data: bytes, captured_at: datetime, picture: Thumbnail | None) -> None:
        """Judge the snapshot's picture (``camops_workers.picture``): from the decoded picture's luma
        when there is one, else (HTTP cameras) from the JPEG's luma decoded at a reduced DCT scale."""
        if self._judge is None:
            return
        try:
            verdict = self._judge.observe(picture or thumbnail_from_jpeg(data), captured_at)
        except (ValueError, RuntimeError) as exc:
            log.warning("picture check failed camera=%s error=%s", self.camera, redact(exc, self._secrets))
            return
        if self._picture_metrics is not None:
            self._picture_metrics.observe(verdict)
        self._update(picture=verdict)
        change = verdict.transition
        if change is None:
            return
        self._store_record("picture", change.at, picture_record(self.camera, verdict))
        if verdict.healthy:
            log.info("picture healthy again camera=%s was=%s", self.camera, change.previous.value)
        else:
            log.warning("picture %s camera=%s %s", verdict.state.value, self.camera, verdict.message)
        for listener in self._listeners:
            notify = getattr(listener, "picture_changed", None)
            if notify is not None:
                with contextlib.suppress(Exception):
                    notify(self.camera, verdict)

    def _store_record(self, kind: str, at: datetime, data: bytes) -> None:
        """A timeline record (``camops_workers.timeline``) into the queue, beside the snapshots."""
        storage = self.config.storage
        self._put(
            Capture(
                camera=self.camera,
                kind=ItemKind.RECORD,
                captured_at=at,
                key=record_key(storage.layout, storage.prefix, self.camera, at, kind),
                content_type="application/json",
                data=data,
            )
        )

    def _store_thumbnail(self, data: bytes, captured_at: datetime, thumb: bytes | None) -> None:
        """``latest.thumb.jpg`` beside the snapshot: from the decoded picture when there is one,
        else (HTTP cameras) from the JPEG decoded at a reduced DCT scale."""
        if thumb is None:
            from camops_workers.capture.jpeg import thumbnail_from_jpeg

            try:
                thumb = thumbnail_from_jpeg(data)
            except (ValueError, RuntimeError, OSError):
                return
        storage = self.config.storage
        self._put(
            Capture(
                camera=self.camera,
                kind=ItemKind.THUMBNAIL,
                captured_at=captured_at,
                key=thumbnail_key(storage.prefix, self.camera),
                content_type="image/jpeg",
                data=thumb,
            )
        )

    def _segment_start(self, segment: ClosedSegment) -> datetime:
        """When the segment's first frame was taken: its stream time on the session's clock, like a
        snapshot's, never later than its packet arrived (a session's first packets come late, in a
        burst) and never earlier than the clock's own drift bound (a stream whose time jumped)."""
        arrived = segment.started_at
        if segment.start_s is None or self._clock is None:
            return arrived  # recovered after a crash: the arrival time in its name is all there is
        earliest = arrived - timedelta(seconds=self._clock.max_drift_s)
        return self._clock.wall_of(segment.start_s, not_after=arrived, not_before=earliest)

    def _store_segment(self, segment: ClosedSegment) -> None:
        storage = self.config.storage
        capture = segment_capture(self.camera, storage, segment, self._segment_start(segment))
        stored = self._put(capture)
        with contextlib.suppress(OSError):
            segment.path.unlink()  # the queue holds its own copy now (or refused it)
        if not stored:
            return
        self.metrics.segments.inc()
        self.metrics.add_bytes("segment", segment.size)
        if self._error_origin == "segment":
            self._error_origin = None
            self._update(last_error=None)
        state = self.state()
        self._update(segments=state.segments + 1, bytes=state.bytes + segment.size)
        self._announce(capture)

    def _record(self, writer: SegmentWriter, packet: Any, stream: Any, *, stream_s: float, wall: datetime) -> None:
        """Hand one packet to the segment writer; store the segment it closed; say when the muxer refused it."""
        refused = writer.mux_errors
        closed = writer.write(packet, stream, stream_s=stream_s, wall=wall)
        if closed is not None:
            self._store_segment(closed)
        if writer.mux_errors != refused:
            self._segment_cut(writer.last_mux_error or "")

    def _segment_cut(self, error: str) -> None:
        """The muxer refused a packet (timestamps going backwards or repeated): the segment was closed
        with what it held and the next keyframe starts a new one. Counted, and the state's error until
        a segment closes normally again."""
        self.metrics.segment_errors.inc()
        message = redact(
            f"segment cut short: the muxer refused a packet (timestamps went back?): {error}", self._secrets
        )
        if message != self.state().last_error:
            log.warning("segment cut short camera=%s error=%s", self.camera, message)
        self._error_origin = "segment"
        self._update(segment_errors=self.state().segment_errors + 1, last_error=message)

    def _close_segment(self, writer: SegmentWriter, *, discard: bool) -> None:
        try:
            closed = writer.close(discard=discard)
        except Exception as exc:  # noqa: BLE001 - a broken muxer must not stop the worker
            log.warning("segment close failed camera=%s error=%s", self.camera, redact(exc, self._secrets))
            return
        if closed is not None:
            self._store_segment(closed)

    def _put(self, capture: Capture) -> bool:
        try:
            self._sink.put(capture)
        except Exception as exc:  # noqa: BLE001 - ENOSPC, queue full: counted and logged, capture goes on
            self.metrics.sink_error()
            error = redact(f"queue refused {capture.kind}: {exc}", self._secrets)
            if error != self.state().last_error:
                log.warning("capture not stored camera=%s error=%s", self.camera, error)
            self._error_origin = "sink"
            self._update(last_error=error)
            return False
        if self._error_origin == "sink":
            self._error_origin = None
            self._update(last_error=None)
        return True

    def _announce(self, capture: Capture) -> None:
        for listener in self._listeners:
            with contextlib.suppress(Exception):
                listener.captured(capture)


def _copy_packet(packet: Any) -> Any:
    """A packet owning a copy of its data (the original is consumed by the muxer)."""
    import av

    copy = av.Packet(bytes(packet))
    copy.pts = packet.pts
    copy.dts = packet.dts
    copy.time_base = packet.time_base
    copy.is_keyframe = packet.is_keyframe
    return copy

"""When to take a snapshot and how much to decode for it: pure decisions, no clock, no I/O.

The capture loop demuxes every packet but feeds the decoder only around the moments a
snapshot is due (keyframe gating). Every decision it makes is one of these functions,
so each is tested with plain values:

- ``advance_due_s``: the next due time on a fixed cadence, skipping what was missed; due times
  of a session live on the stream's own clock (``stream_due_s``, ``is_due``,
  ``session_first_due_s``), so mapping stream time to wall time never adds or drops a snapshot;
- ``gate_mode``: wait for the next keyframe, or (when the camera's GOP is longer than the
  interval) keep the packets since the last keyframe and decode only those when due;
- ``choose_session``: one persistent session, or a session opened per snapshot;
- ``StreamClock``: stream timestamps mapped to wall time, never later than their arrival;
- ``should_log_failure``: which failed reconnects are worth a log line.

The reconnect backoff itself is ``camops_workers.backoff`` (one implementation for the project).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

__all__ = [
    "DEFAULT_SESSION_CROSSOVER_S",
    "GateMode",
    "SessionKind",
    "StreamClock",
    "advance_due",
    "advance_due_s",
    "choose_session",
    "due_tolerance_s",
    "gate_mode",
    "is_due",
    "session_first_due_s",
    "should_log_failure",
    "stay_synced",
    "stream_due_s",
    "update_gop",
]

#: Snapshot interval above which a session opened per snapshot beats a persistent one (nothing
#: recorded). Measured by ``bench/capture.py`` (``session_crossover_s``) on a 1080p H.264 RTSP stream
#: with a 2 s GOP: a persistent session demuxes for ~9 ms CPU/s, a gated snapshot costs ~10 ms, a
#: session per snapshot ~23 ms (the open skips stream analysis), so CPU alone crosses over at ~1.5 s;
#: the session must also fit in the interval (~0.25 s handshake + up to one GOP waiting for a
#: keyframe), which puts the figure at ~2.2 s. Rounded up.
DEFAULT_SESSION_CROSSOVER_S = 2.5


class GateMode(StrEnum):
    #: Decode the first keyframe at or after the due time (GOP no longer than the interval).
    KEYFRAME = "keyframe"
    #: Keep the packets since the last keyframe; when due, decode them and keep the last picture.
    BUFFER = "buffer"


class SessionKind(StrEnum):
    PERSISTENT = "persistent"
    PER_SNAPSHOT = "per_snapshot"


def advance_due_s(due_s: float, interval_s: float, taken_s: float) -> float:
    """The next due time after a snapshot taken at ``taken_s`` for the one due at ``due_s`` (seconds).

    Due times stay on the ``due + k * interval`` grid so snapshots do not drift later by the
    keyframe wait each time; grid points already passed are skipped, never caught up in a burst.
    """
    if interval_s <= 0:
        raise ValueError("the snapshot interval must be positive")
    nxt = due_s + interval_s
    if nxt <= taken_s:
        nxt += interval_s * (int((taken_s - nxt) / interval_s) + 1)
    return nxt


def advance_due(due: datetime, interval_s: float, taken_at: datetime) -> datetime:
    """``advance_due_s`` on wall-clock times (HTTP cameras and sessions opened per snapshot)."""
    return due + timedelta(seconds=advance_due_s(0.0, interval_s, (taken_at - due).total_seconds()))


def due_tolerance_s(interval_s: float) -> float:
    """How early a picture may be and still count as due: a keyframe stamped a hair before its
    grid point (rounded timestamps, a frame's jitter) must not push the snapshot a whole GOP later."""
    return min(0.01 * interval_s, 0.01)


def is_due(stream_s: float, due_s: float, interval_s: float) -> bool:
    return stream_s >= due_s - due_tolerance_s(interval_s)


def session_first_due_s(stream_s: float, interval_s: float, since_last_s: float | None) -> float:
    """The first due time (stream seconds) of a session whose first packet is at ``stream_s``.

    ``since_last_s`` is the wall time from the previous session's last snapshot to now (None if
    there was none): a session reopened quickly waits out the rest of that interval, so no two
    snapshots come closer than the interval across a reconnect; otherwise the first picture is due.
    """
    if since_last_s is None:
        return stream_s
    return stream_s + min(interval_s, max(0.0, interval_s - since_last_s))


def stream_due_s(due_s: float | None, stream_s: float, interval_s: float) -> float:
    """The due time on the stream's clock; restarted at ``stream_s`` when the timestamps jumped back
    (the due time lies more than one interval ahead: the camera restarted its clock)."""
    if due_s is None or due_s - stream_s > interval_s + due_tolerance_s(interval_s):
        return stream_s
    return due_s


def gate_mode(gop_s: float | None, interval_s: float) -> GateMode:
    """Wait for a keyframe unless keyframes come less often than snapshots are due.

    With an unknown GOP the loop waits for a keyframe (which also measures the GOP).
    """
    if gop_s is None or gop_s <= interval_s:
        return GateMode.KEYFRAME
    return GateMode.BUFFER


def stay_synced(until_due_s: float, until_next_key_s: float) -> bool:
    """In buffer mode, keep feeding the decoder after a snapshot only when the next one is due
    before the next keyframe (from which decoding can restart cheaply)."""
    return until_due_s < until_next_key_s


def update_gop(previous_gop_s: float | None, last_key_s: float | None, key_s: float) -> float | None:
    """The GOP estimate after a keyframe at stream time ``key_s`` (seconds); the last spacing wins."""
    if last_key_s is None or key_s <= last_key_s:
        return previous_gop_s
    return key_s - last_key_s


def choose_session(
    mode: Literal["auto", "persistent", "per_snapshot"],
    *,
    interval_s: float,
    snapshots: bool,
    recording: bool,
    crossover_s: float = DEFAULT_SESSION_CROSSOVER_S,
) -> SessionKind:
    """Keep one session open, or open one per snapshot.

    Recording needs every packet, so it always keeps the session. Otherwise ``auto`` opens a
    session per snapshot when the interval is longer than the measured crossover.
    """
    if recording or not snapshots:
        return SessionKind.PERSISTENT
    if mode == "persistent":
        return SessionKind.PERSISTENT
    if mode == "per_snapshot":
        return SessionKind.PER_SNAPSHOT
    return SessionKind.PER_SNAPSHOT if interval_s > crossover_s else SessionKind.PERSISTENT


@dataclass(frozen=True, slots=True)
class StreamClock:
    """Maps stream time (seconds on the stream's clock) to wall time, never into the future.

    A packet arrives after its picture was taken, so the wall time of ``stream_s`` is at most
    the moment its packet arrived (``now``). The clock keeps the earliest mapping the packets
    allow: it moves earlier at once whenever a packet arrives sooner than the mapping says (the
    first packets of a session are often delivered late, in a burst, which would otherwise put
    every later time up to a second in the future), and ``early`` says it just did. A camera
    whose clock runs slow makes every packet look a little later each second; the smallest lag
    seen over each ``window_s`` is taken back at the window's end, so the mapping follows such
    a drift instead of falling behind until a jump. When the mapped time falls more than
    ``max_drift_s`` behind the wall clock (stream restarted, timestamps wrapped or jumped back,
    a paused file looped) it re-anchors on ``now``.
    """

    stream_s: float
    wall: datetime
    max_drift_s: float = 2.0
    window_s: float = 30.0
    #: the current window: when it started and the smallest lag (now - mapped) seen in it
    window_start: datetime | None = None
    window_lag_s: float = 0.0
    early: bool = True

    @classmethod
    def start(cls, stream_s: float, now: datetime, max_drift_s: float = 2.0, window_s: float = 30.0) -> StreamClock:
        return cls(stream_s, now, max_drift_s, window_s, now)

    def _anchored(self, stream_s: float, now: datetime, *, new_window: bool) -> StreamClock:
        start = now if new_window or self.window_start is None else self.window_start
        return StreamClock(stream_s, now, self.max_drift_s, self.window_s, start, 0.0, early=True)

    def wall_of(self, stream_s: float, *, not_after: datetime, not_before: datetime | None = None) -> datetime:
        """The wall time of ``stream_s`` on the current mapping, no later than ``not_after`` (when its
        packet arrived) and no earlier than ``not_before``: how a picture held while the clock settled,
        or a segment's first frame, gets its true time once later packets have shown the mapping."""
        mapped = self.wall + timedelta(seconds=stream_s - self.stream_s)
        if not_before is not None and mapped < not_before:
            return not_before
        return min(not_after, mapped)

    def map(self, stream_s: float, now: datetime) -> tuple[datetime, StreamClock]:
        """Return the wall time of ``stream_s`` (never later than ``now``) and the updated clock."""
        ahead = stream_s - self.stream_s - (now - self.wall).total_seconds()
        if ahead < -self.max_drift_s:
            return now, self._anchored(stream_s, now, new_window=True)
        if ahead >= 0:
            return now, self._anchored(stream_s, now, new_window=False)
        lag = -ahead
        least = min(self.window_lag_s, lag)
        start = self.window_start or now
        if (now - start).total_seconds() < self.window_s:
            clock = StreamClock(self.stream_s, self.wall, self.max_drift_s, self.window_s, start, least, early=False)
            return now - timedelta(seconds=lag), clock
        # A window ended with every packet late by at least ``least``: the stream's clock is slow.
        wall = self.wall + timedelta(seconds=least)
        clock = StreamClock(self.stream_s, wall, self.max_drift_s, self.window_s, now, lag - least, early=False)
        return now - timedelta(seconds=lag - least), clock


def should_log_failure(attempt: int, error: str, last_logged_error: str | None) -> bool:
    """Log a failed attempt when its error is new, or on attempts 1, 2, 4, 8, ...

    A camera down for a day at a 5 min cap logs about a dozen lines, not one per retry.
    """
    if error != last_logged_error:
        return True
    return attempt >= 1 and attempt & (attempt - 1) == 0

"""When to take a snapshot and how much to decode for it: pure decisions, no clock, no I/O.

The capture loop demuxes every packet but feeds the decoder only around the moments a
snapshot is due (keyframe gating). Every decision it makes is one of these functions,
so each is tested with plain values:

- ``advance_due``: the next due time on a fixed cadence, skipping what was missed;
- ``gate_mode``: wait for the next keyframe, or (when the camera's GOP is longer than the
  interval) keep the packets since the last keyframe and decode only those when due;
- ``choose_session``: one persistent session, or a session opened per snapshot;
- ``StreamClock``: stream timestamps mapped to wall time, re-anchored when they jump;
- ``backoff_delay``: capped exponential backoff with jitter for reconnects.
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
    "backoff_delay",
    "choose_session",
    "gate_mode",
    "should_log_failure",
    "stay_synced",
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


def advance_due(due: datetime, interval_s: float, taken_at: datetime) -> datetime:
    """The next due time after a snapshot taken at ``taken_at`` for the one due at ``due``.

    Due times stay on the ``due + k * interval`` grid so snapshots do not drift later by the
    keyframe wait each time; grid points already passed are skipped, never caught up in a burst.
    """
    if interval_s <= 0:
        raise ValueError("the snapshot interval must be positive")
    step = timedelta(seconds=interval_s)
    nxt = due + step
    if nxt <= taken_at:
        missed = int((taken_at - nxt) / step) + 1
        nxt += step * missed
    return nxt


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
    """Maps stream time (seconds on the stream's clock) to wall time.

    Anchored on the first timestamp seen; when the mapped time drifts from the wall clock by
    more than ``max_drift_s`` (stream restarted, timestamps wrapped or jumped, a paused file
    looped) it re-anchors, so captures never carry a time far from when they were taken.
    """

    stream_s: float
    wall: datetime
    max_drift_s: float = 2.0

    @classmethod
    def start(cls, stream_s: float, now: datetime, max_drift_s: float = 2.0) -> StreamClock:
        return cls(stream_s, now, max_drift_s)

    def map(self, stream_s: float, now: datetime) -> tuple[datetime, StreamClock]:
        """Return the wall time of ``stream_s`` and the (possibly re-anchored) clock."""
        mapped = self.wall + timedelta(seconds=stream_s - self.stream_s)
        if abs((mapped - now).total_seconds()) > self.max_drift_s:
            return now, StreamClock(stream_s, now, self.max_drift_s)
        return mapped, self


def backoff_delay(
    attempt: int, rand: float, *, base_s: float = 1.0, cap_s: float = 300.0, jitter: float = 0.2
) -> float:
    """Seconds to wait before reconnect ``attempt`` (1 = first retry): ``base * 2**(attempt-1)``,
    spread by ±``jitter`` (``rand`` in [0, 1)) so many cameras do not retry in step, never above ``cap``.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    raw = base_s * 2.0 ** min(attempt - 1, 32)
    spread = raw * (1.0 - jitter + 2.0 * jitter * rand)
    return max(0.0, min(cap_s, spread))


def should_log_failure(attempt: int, error: str, last_logged_error: str | None) -> bool:
    """Log a failed attempt when its error is new, or on attempts 1, 2, 4, 8, ...

    A camera down for a day at a 5 min cap logs about a dozen lines, not one per retry.
    """
    if error != last_logged_error:
        return True
    return attempt >= 1 and attempt & (attempt - 1) == 0

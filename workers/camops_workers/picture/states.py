"""Picture states: one snapshot's raw state (``classify``) and the reported state with hysteresis."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from camops_workers.contract import PictureHealthConfig
from camops_workers.picture.measures import Measures

__all__ = ["Hysteresis", "PictureState", "Transition", "classify", "describe", "format_span"]


class PictureState(StrEnum):
    HEALTHY = "Healthy"
    FROZEN = "Frozen"
    BLACK = "Black"
    UNIFORM = "Uniform"
    BLURRED = "Blurred"
    SCENE_CHANGED = "SceneChanged"


def classify(
    m: Measures, config: PictureHealthConfig, *, usual_sharpness: float | None = None, clock_stopped: bool = False
) -> PictureState:
    """The state one snapshot shows, the most specific first.

    A black or one-colour picture is also unchanged: it is reported as what it shows. Unchanged
    means decoded pictures that are (almost) identical, or a stream clock that did not advance;
    a quiet scene still changes by its sensor noise.
    """
    if m.luma <= config.black_max_luma and m.contrast <= config.black_max_contrast:
        return PictureState.BLACK
    if m.uniform >= config.uniform_min_share:
        return PictureState.UNIFORM
    if clock_stopped or (m.change is not None and m.change <= config.frozen_max_change):
        return PictureState.FROZEN
    if m.distance is not None and m.distance >= config.scene_min_distance:
        return PictureState.SCENE_CHANGED
    if usual_sharpness is not None and m.sharpness < config.blur_max_ratio * usual_sharpness:
        return PictureState.BLURRED
    return PictureState.HEALTHY


@dataclass(frozen=True, slots=True)
class Transition:
    previous: PictureState
    state: PictureState
    #: When the picture started to show the new state (the first snapshot of the run).
    since: datetime
    #: When the transition was decided (the snapshot that completed the run).
    at: datetime


class Hysteresis:
    """The reported state: a fault after ``enter_after`` snapshots in a row show it, healthy again
    after ``exit_after`` snapshots in a row do not show it."""

    def __init__(self, enter_after: int = 3, exit_after: int = 2) -> None:
        self.enter_after = enter_after
        self.exit_after = exit_after
        self.state = PictureState.HEALTHY
        self.since: datetime | None = None
        self._candidate: PictureState | None = None
        self._count = 0
        self._candidate_since: datetime | None = None
        self._clear_count = 0
        self._clear_since: datetime | None = None

    def feed(self, raw: PictureState, at: datetime) -> Transition | None:
        """Take one snapshot's raw state; return the transition it completes, if any."""
        if self.since is None:
            self.since = at
        if raw == self.state:
            self._candidate, self._count, self._clear_count = None, 0, 0
            return None
        if raw == self._candidate:
            self._count += 1
        else:
            self._candidate, self._count, self._candidate_since = raw, 1, at
        if self.state == PictureState.HEALTHY:
            if self._count >= self.enter_after:
                return self._move(raw, self._candidate_since or at, at)
            return None
        # In a fault: every snapshot not showing it counts towards leaving it.
        if self._clear_count == 0:
            self._clear_since = at
        self._clear_count += 1
        if raw != PictureState.HEALTHY and self._count >= self.enter_after:
            return self._move(raw, self._candidate_since or at, at)
        if self._clear_count >= self.exit_after:
            keep = raw != PictureState.HEALTHY  # a different fault keeps counting towards entering
            return self._move(PictureState.HEALTHY, self._clear_since or at, at, keep_candidate=keep)
        return None

    def _move(self, state: PictureState, since: datetime, at: datetime, *, keep_candidate: bool = False) -> Transition:
        transition = Transition(self.state, state, since, at)
        self.state, self.since = state, since
        self._clear_count = 0
        if not keep_candidate:
            self._candidate, self._count = None, 0
        return transition


def format_span(seconds: float) -> str:
    """``4m10s``, ``35s``, ``2h5m``, ``3d4h``."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


_WHAT = {
    PictureState.HEALTHY: "picture healthy",
    PictureState.FROZEN: "picture unchanged",
    PictureState.BLACK: "picture black",
    PictureState.UNIFORM: "picture one colour",
    PictureState.BLURRED: "picture blurred",
    PictureState.SCENE_CHANGED: "view differs from the learned reference",
}


def describe(state: PictureState, since: datetime | None, now: datetime, m: Measures | None = None) -> str:
    """A human line: ``picture unchanged for 4m10s``."""
    text = _WHAT[state]
    if since is not None and state != PictureState.HEALTHY:
        text += f" for {format_span((now - since).total_seconds())}"
    if m is None or state == PictureState.HEALTHY:
        return text
    if state == PictureState.BLACK:
        text += f" (mean luma {m.luma:.0f})"
    elif state == PictureState.UNIFORM:
        text += f" ({m.uniform:.0%} of the picture one shade)"
    elif state == PictureState.BLURRED:
        text += f" (sharpness {m.sharpness:.2f})"
    elif state == PictureState.SCENE_CHANGED and m.distance is not None:
        text += f" (distance {m.distance:.2f})"
    return text

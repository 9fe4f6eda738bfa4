"""One camera's picture judge: measures each snapshot, learns the reference, reports the state."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from camops_workers.contract import PictureHealthConfig
from camops_workers.picture.measures import Measures, measure, view_grid
from camops_workers.picture.reference import ReferenceView
from camops_workers.picture.states import Hysteresis, PictureState, Transition, classify, describe
from camops_workers.picture.thumbnail import Thumbnail

__all__ = ["PictureJudge", "Verdict"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The picture's state after one snapshot."""

    state: PictureState
    #: When the picture started to show ``state``.
    since: datetime
    #: What this snapshot alone shows.
    raw: PictureState
    measures: Measures
    #: The state change this snapshot completed, if any.
    transition: Transition | None
    #: A human line, e.g. "picture unchanged for 4m10s".
    message: str

    @property
    def healthy(self) -> bool:
        return self.state == PictureState.HEALTHY


class PictureJudge:
    """Feed it each snapshot's thumbnail with the snapshot's time (and stream time when known).

    Not thread-safe: one capture loop feeds it.
    """

    def __init__(self, config: PictureHealthConfig | None = None) -> None:
        self.config = config or PictureHealthConfig()
        self.reference = ReferenceView(self.config.reference_snapshots, self.config.reference_rate)
        self.hysteresis = Hysteresis(self.config.enter_after, self.config.exit_after)
        self._previous: Thumbnail | None = None
        self._previous_stream_s: float | None = None
        #: When the picture last differed from the one before (the start of a freeze).
        self._changed_at: datetime | None = None
        self.last: Verdict | None = None

    def observe(self, thumb: Thumbnail, at: datetime, *, stream_s: float | None = None) -> Verdict:
        config = self.config
        grid = view_grid(thumb.luma)
        m = measure(
            thumb,
            self._previous,
            grid=grid,
            reference=self.reference.view(),
            uniform_tolerance=config.uniform_tolerance,
        )
        clock_stopped = (
            stream_s is not None and self._previous_stream_s is not None and stream_s <= self._previous_stream_s
        )
        raw = classify(m, config, usual_sharpness=self.reference.usual_sharpness(), clock_stopped=clock_stopped)
        if raw == PictureState.HEALTHY and self.hysteresis.state == PictureState.HEALTHY:
            self.reference.learn(grid, m.sharpness)
        self._previous, self._previous_stream_s = thumb, stream_s
        unchanged_since = self._changed_at or at
        if raw != PictureState.FROZEN:
            self._changed_at = at
        transition = self.hysteresis.feed(raw, at)
        if transition is not None and transition.state == PictureState.FROZEN:
            # Unchanged since the picture the first identical one repeats.
            transition = replace(transition, since=unchanged_since)
            self.hysteresis.since = unchanged_since
        state = self.hysteresis.state
        since = self.hysteresis.since or at
        verdict = Verdict(state, since, raw, m, transition, describe(state, since, at, m))
        self.last = verdict
        return verdict

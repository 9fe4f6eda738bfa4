"""What ``camops local`` shows a person: one live line per camera and a summary at the end.

Pure rendering: a :class:`CameraView` (built by the runner from a worker's status) and
``now`` in, text out. No clock, no terminal I/O here, so every line is tested with values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from camops_workers.redact import redact
from camops_workers.units import format_bytes

__all__ = ["ITEMS_NOTE", "CameraView", "ago", "render_block", "render_line", "render_summary"]

#: states a person reads in the live line (the capture worker's source states plus local ones)
STATE_LABELS = {
    "starting": "starting",
    "connecting": "connecting",
    "connected": "capturing",
    "backoff": "retrying",
    "stopped": "stopped",
    "paused": "paused",
    "failed": "failed",
}


#: What the summary's item columns count (a snapshot is two uploads, which reads as a bug unless said).
ITEMS_NOTE = (
    "uploaded, queued and dropped count queue items: a snapshot is two (its JPEG, also copied to latest.jpg, "
    "and latest.thumb.jpg), a segment, an analysis answer or a picture/outage record one."
)


@dataclass(frozen=True)
class CameraView:
    """The numbers one camera's status line and summary row show."""

    name: str
    state: str = "starting"
    snapshots: int = 0
    segments: int = 0
    bytes: int = 0
    queue_depth: int = 0
    queue_bytes: int = 0
    uploaded: int = 0
    dropped: int = 0
    failed: int = 0
    reconnects: int = 0
    #: failed sessions and fetches this run (unexpected exceptions in the capture loop included)
    source_errors: int = 0
    last_snapshot_at: datetime | None = None
    #: the worker's current error (None once the camera delivers again)
    last_error: str | None = None
    #: the newest error this run had, kept after recovery for the summary
    error_seen: str | None = None
    storage_state: str = "closed"
    storage_error: str | None = None
    exit_code: int | None = None
    #: Picture health (``docs/picture-health.md``): the state, its human line, faults entered this run.
    picture: str | None = None
    picture_message: str | None = None
    picture_alarms: int = 0
    #: The source's recent outages as the worker reports them (start, end or None while away, reason).
    outages: tuple[tuple[datetime, datetime | None, str], ...] = ()


def ago(moment: datetime | None, now: datetime) -> str:
    """ "3s ago", "2m ago", "1h ago" or "never"."""
    if moment is None:
        return "never"
    seconds = max(0.0, (now - moment).total_seconds())
    if seconds < 60:
        return f"{seconds:.0f}s ago"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m ago"
    return f"{seconds // 3600:.0f}h ago"


def _problem(view: CameraView) -> str | None:
    """The one problem worth showing, storage first (it is what loses nothing but fills the queue)."""
    if view.storage_state != "closed" and view.storage_error:
        return f"storage {view.storage_state.replace('-', ' ')}: {view.storage_error}"
    if view.storage_error and view.queue_depth:
        return f"storage: {view.storage_error}"
    if view.last_error and view.state != "connected":
        return view.last_error
    return None


def _fit(text: str, width: int | None) -> str:
    if width is None or len(text) <= width:
        return text
    return text[: max(0, width - 1)] + "…"


def render_line(view: CameraView, now: datetime, *, name_width: int = 0, width: int | None = None) -> str:
    """One camera's live line: state, snapshots, segments, bytes, queue depth, newest snapshot, last error."""
    state = STATE_LABELS.get(view.state, view.state)
    parts = [
        f"{view.name:<{name_width}}",
        f"{state:<10}",
        f"snapshots {view.snapshots:>5}",
        f"segments {view.segments:>4}",
        f"{format_bytes(view.bytes):>10}",
        f"queue {view.queue_depth:>4}",
        f"last {ago(view.last_snapshot_at, now)}",
    ]
    if view.dropped:
        parts.append(f"dropped {view.dropped}")
    if view.picture and view.picture != "Healthy":
        parts.append(view.picture_message or f"picture {view.picture}")
    if view.source_errors:
        parts.append(f"errors {view.source_errors}")
    problem = _problem(view)
    if problem:
        parts.append(f"error: {redact(problem)}")
    return _fit("  ".join(parts), width)


def _picture_cell(view: CameraView) -> str:
    """The picture's state at the end and how many faults the run saw, e.g. ``Healthy, 2 faults``."""
    if view.picture is None:
        return "-"
    if not view.picture_alarms:
        return view.picture
    return f"{view.picture}, {view.picture_alarms} fault{'s' if view.picture_alarms > 1 else ''}"


def render_block(views: Sequence[CameraView], now: datetime, *, width: int | None = None) -> list[str]:
    """The live lines of every camera, names aligned."""
    name_width = max((len(v.name) for v in views), default=0)
    return [render_line(v, now, name_width=name_width, width=width) for v in views]


def _summary_error(view: CameraView) -> str:
    """The error column: the current problem, else the newest one this run had and got over."""
    if view.storage_error or view.last_error:
        return redact(view.storage_error or view.last_error or "")
    if view.error_seen:
        return f"{redact(view.error_seen)} (recovered)"
    return "-"


def render_summary(views: Sequence[CameraView], *, elapsed_s: float, location: str) -> list[str]:
    """The table printed when ``camops local`` ends: what each camera produced and what is still queued.

    ``reconnects`` counts the times a camera came back after a failure; ``errors`` the failed
    sessions and fetches (a camera down for a minute has many errors and one reconnect).
    ``uploaded``, ``queued`` and ``dropped`` count the queue's items, which are not snapshots:
    a line under the table says so whenever they are shown with anything in them.
    """
    name_width = max([len("camera")] + [len(v.name) for v in views])
    header = (
        f"{'camera':<{name_width}}  {'snapshots':>9}  {'segments':>8}  {'bytes':>10}  {'uploaded':>8}  "
        f"{'queued':>6}  {'dropped':>7}  {'reconnects':>10}  {'errors':>6}  {'picture':<24}  last error"
    )
    lines = [f"camops local ran {elapsed_s:.0f}s; objects are in {location}", header]
    for v in views:
        lines.append(
            f"{v.name:<{name_width}}  {v.snapshots:>9}  {v.segments:>8}  {format_bytes(v.bytes):>10}  "
            f"{v.uploaded:>8}  {v.queue_depth:>6}  {v.dropped:>7}  {v.reconnects:>10}  {v.source_errors:>6}  "
            f"{_picture_cell(v):<24}  {_summary_error(v)}"
        )
    if any(v.uploaded or v.queue_depth or v.dropped for v in views):
        lines.append(ITEMS_NOTE)
    parked = sum(v.failed for v in views)
    if parked:
        lines.append(
            f"{parked} item(s) the store refused for good are parked as failed: "
            "`camops queue stats --queue DIR` lists them, `camops queue retry --queue DIR` re-arms them."
        )
    queued = sum(v.queue_depth for v in views)
    if queued:
        lines.append(
            f"{queued} item(s) are still in the offline queue; the next `camops local` run uploads them first."
        )
    return lines

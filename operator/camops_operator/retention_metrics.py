"""What a RetentionPolicy's status says about its runs, as Prometheus figures (pure).

The retention job runs in a CronJob pod that lives too short to be scraped; it writes its
figures to the policy's status instead, and the operator exports them from there. The
figures are computed once per status change from the policy alone, never from the clock:
"not run on schedule" is the moment the run after the last one was due
(:attr:`RetentionFigures.due`), which alerts compare with the time they are evaluated at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from camops_operator.api.retention import RetentionPolicy
from camops_operator.local.schedule import next_run
from camops_operator.retention_cli import LAST_RUN_CONDITION

__all__ = ["RetentionFigures", "retention_figures"]


@dataclass(frozen=True)
class RetentionFigures:
    """One policy's figures; ``None`` where there is nothing to report yet."""

    last_run: float | None
    last_success: float | None
    #: 1.0 when the last run succeeded, 0.0 when it failed, None before the first run
    succeeded: float | None
    objects_deleted: int
    bytes_freed: int
    objects_archived: int
    cameras_covered: int
    #: when the run after the last one (or after the policy's creation) was due; None while suspended
    due: float | None


def _seconds(text: str | None) -> float | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def retention_figures(policy: RetentionPolicy) -> RetentionFigures:
    """The figures the operator exports for ``policy`` (its CronJob runs in UTC, so the schedule is read in UTC)."""
    status = policy.status
    last_run = _seconds(status.last_run) if status else None
    last_success = _seconds(status.last_success) if status else None
    condition = next((c for c in status.conditions if c.type == LAST_RUN_CONDITION), None) if status else None
    succeeded: float | None = None
    if condition is not None and condition.status in ("True", "False"):
        succeeded = 1.0 if condition.status == "True" else 0.0
    elif last_run is not None:
        succeeded = 1.0 if last_success is not None and last_success >= last_run else 0.0
    since = last_run if last_run is not None else _seconds((policy.metadata.model_extra or {}).get("creationTimestamp"))
    due: float | None = None
    if not policy.spec.suspend and since is not None:
        try:
            due = next_run(policy.spec.schedule, datetime.fromtimestamp(since, UTC)).timestamp()
        except ValueError:
            due = None  # an unparsable schedule is the Ready condition's business
    return RetentionFigures(
        last_run=last_run,
        last_success=last_success,
        succeeded=succeeded,
        objects_deleted=status.objects_deleted if status else 0,
        bytes_freed=status.bytes_freed if status else 0,
        objects_archived=status.objects_archived if status else 0,
        cameras_covered=status.cameras_covered if status else 0,
        due=due,
    )

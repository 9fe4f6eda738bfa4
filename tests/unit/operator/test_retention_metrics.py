"""The retention figures the operator exports from a RetentionPolicy's status (pure, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from camops_operator.api.retention import RetentionPolicy
from camops_operator.metrics import Metrics
from camops_operator.retention_metrics import retention_figures


def _policy(status: dict[str, Any] | None = None, **spec: Any) -> RetentionPolicy:
    body: dict[str, Any] = {
        "metadata": {"name": "week", "namespace": "site-a", "creationTimestamp": "2026-03-01T10:20:00Z"},
        "spec": {"maxAge": "7d", "schedule": "0 3 * * *", **spec},
    }
    if status is not None:
        body["status"] = status
    return RetentionPolicy.model_validate(body)


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def _condition(status: str) -> dict[str, Any]:
    return {"type": "LastRunSucceeded", "status": status, "reason": "R", "message": "", "lastTransitionTime": "x"}


def test_before_the_first_run_the_first_scheduled_time_is_due() -> None:
    figures = retention_figures(_policy())
    assert figures.last_run is None
    assert figures.succeeded is None
    assert figures.due == _ts("2026-03-02T03:00:00")


def test_a_successful_run_moves_the_due_time_to_the_next_schedule() -> None:
    status = {
        "lastRun": "2026-03-05T03:00:04Z",
        "lastSuccess": "2026-03-05T03:02:10Z",
        "objectsDeleted": 1200,
        "bytesFreed": 5_000_000,
        "objectsArchived": 7,
        "camerasCovered": 3,
        "conditions": [_condition("True")],
    }
    figures = retention_figures(_policy(status))
    assert figures.last_run == _ts("2026-03-05T03:00:04")
    assert figures.last_success == _ts("2026-03-05T03:02:10")
    assert figures.succeeded == 1.0
    assert (figures.objects_deleted, figures.bytes_freed, figures.objects_archived, figures.cameras_covered) == (
        1200,
        5_000_000,
        7,
        3,
    )
    assert figures.due == _ts("2026-03-06T03:00:00")


def test_a_failed_run_and_a_suspended_policy() -> None:
    failed = {
        "lastRun": "2026-03-05T03:00:04Z",
        "lastSuccess": "2026-03-04T03:01:00Z",
        "conditions": [_condition("False")],
    }
    assert retention_figures(_policy(failed)).succeeded == 0.0
    # without the job's condition, a last success older than the last run is a failure
    assert retention_figures(_policy({"lastRun": "2026-03-05T03:00:04Z"})).succeeded == 0.0
    assert retention_figures(_policy(failed, suspend=True)).due is None


def test_metrics_export_and_forget_a_policy() -> None:
    metrics = Metrics()
    status = {"lastRun": "2026-03-05T03:00:04Z", "lastSuccess": "2026-03-05T03:02:10Z", "objectsDeleted": 12}
    metrics.set_retention("site-a", "week", retention_figures(_policy(status)))
    text = metrics.render().decode()
    assert 'camops_retention_objects_deleted{namespace="site-a",policy="week"} 12.0' in text
    assert 'camops_retention_last_run_succeeded{namespace="site-a",policy="week"} 1.0' in text
    assert "camops_retention_due_timestamp_seconds{" in text
    metrics.set_retention("site-a", "week", retention_figures(_policy(status, suspend=True)))
    assert "camops_retention_due_timestamp_seconds{" not in metrics.render().decode()
    metrics.set_retention("site-a", "week", None)
    assert 'policy="week"' not in metrics.render().decode()

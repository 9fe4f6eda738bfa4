"""One RetentionPolicy run in local mode, through the retention job the cluster's CronJob runs.

The policy's limits come from ``camops retention``'s own mapping
(:func:`camops_operator.retention_cli.rules_from_policy`), so both read a policy alike.

Cameras are grouped by the store they write to (the data folder, or a bucket at the
endpoint); each group is one :func:`camops_workers.retention.job.run_retention` call.
An archive bucket becomes a folder under ``<data>/.camops/archive/<bucket>`` when the
cameras store to the data folder, or that bucket at the same endpoint otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from camops_operator.api.retention import RetentionPolicy
from camops_operator.local.plan import STATE_DIR, PlannedCamera
from camops_operator.retention_cli import rules_from_policy
from camops_workers.contract import StorageConfig
from camops_workers.retention.job import RunReport, run_retention
from camops_workers.retention.planner import CameraScope
from camops_workers.storage.factory import open_store
from camops_workers.storage.keys import Layout
from camops_workers.units import format_bytes

__all__ = ["archive_config", "run_policy", "summarize_report"]


def archive_config(storage: StorageConfig, bucket: str) -> StorageConfig:
    """Where archived objects go, beside ``storage``."""
    if storage.kind == "local":
        root = Path(storage.directory or ".") / STATE_DIR / "archive" / bucket
        return storage.model_copy(update={"directory": str(root), "prefix": ""})
    return storage.model_copy(update={"bucket": bucket, "prefix": ""})


def summarize_report(report: RunReport) -> str:
    """One line for the status block and the log."""
    verb = "would delete" if report.dry_run else "deleted"
    count = report.planned_delete if report.dry_run else report.deleted
    size = report.planned_delete_bytes if report.dry_run else report.bytes_freed
    text = f"{verb} {count} object(s), {format_bytes(size)}"
    if report.archived:
        text += f", archived {report.archived}"
    errors = report.all_errors
    if errors:
        text += f"; {len(errors)} error(s), first: {errors[0]}"
    return text


def run_policy(policy: RetentionPolicy, cameras: Sequence[PlannedCamera], now: datetime) -> str:
    """Run ``policy`` over ``cameras`` now; return what it did in one line."""
    rules = rules_from_policy(policy)
    groups: dict[str, tuple[StorageConfig, list[CameraScope]]] = {}
    for planned in cameras:
        if planned.config is None:
            continue
        storage = planned.config.storage
        scope = CameraScope(camera=planned.name, prefix=storage.prefix, layout=Layout(storage.layout))
        group_key = storage.model_copy(update={"prefix": "", "layout": Layout.DATED}).model_dump_json()
        groups.setdefault(group_key, (storage, []))[1].append(scope)
    if not groups:
        return "no cameras selected"
    lines = []
    for storage, scopes in groups.values():
        store = open_store(storage)
        archive = None
        if policy.spec.archive is not None:
            archive = open_store(archive_config(storage, policy.spec.archive.bucket))
            archive.ensure_bucket()
        report = run_retention(store, scopes, rules, now, archive=archive, dry_run=policy.spec.dry_run)
        lines.append(summarize_report(report))
    return "; ".join(lines)

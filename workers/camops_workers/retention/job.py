"""Carry out a retention plan: archive (copy, check the copy), then delete in batches.

The order makes a run safe to kill at any point and run again: an object is deleted
only after its archive copy was checked (size and user metadata read back from the
archive), deletions are idempotent, and the next run re-plans from a fresh listing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from camops_workers.redact import redact
from camops_workers.retention.lister import FolderCount, list_camera, list_sizes
from camops_workers.retention.planner import CameraPlan, CameraScope, Reason, RetentionRules, plan_camera
from camops_workers.storage.base import ObjectStore, StorageError, StoredObject
from camops_workers.storage.keys import Layout

__all__ = ["BATCH_SIZE", "CameraReport", "RunReport", "run_camera", "run_retention"]

log = logging.getLogger("camops.retention")

#: Keys per delete request (the S3 DeleteObjects maximum).
BATCH_SIZE = 1000
_MAX_ERRORS = 20
_COPY_WORKERS = 8


@dataclass
class CameraReport:
    """What happened to one camera (or, in a dry run, what would have)."""

    camera: str
    key_prefix: str
    listed: int = 0
    #: Dated layout without a quota: day folders whose objects were listed, and newer ones that were not.
    #: None when the whole prefix was listed.
    day_folders_listed: int | None = None
    day_folders_newer: int | None = None
    planned_delete: int = 0
    planned_delete_bytes: int = 0
    planned_archive: int = 0
    by_age: int = 0
    by_quota: int = 0
    protected_young: int = 0
    deleted: int = 0
    bytes_freed: int = 0
    archived: int = 0
    kept: int = 0
    kept_bytes: int = 0
    errors: list[str] = field(default_factory=list)

    def error(self, message: object) -> None:
        if len(self.errors) < _MAX_ERRORS:
            self.errors.append(redact(message))


@dataclass
class RunReport:
    """A whole run: one report per camera plus totals."""

    started_at: datetime
    dry_run: bool
    cameras: list[CameraReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: Every key the plan chose for deletion (dry runs only, for printing).
    planned_keys: list[str] = field(default_factory=list)

    @property
    def deleted(self) -> int:
        return sum(c.deleted for c in self.cameras)

    @property
    def bytes_freed(self) -> int:
        return sum(c.bytes_freed for c in self.cameras)

    @property
    def archived(self) -> int:
        return sum(c.archived for c in self.cameras)

    @property
    def planned_delete(self) -> int:
        return sum(c.planned_delete for c in self.cameras)

    @property
    def planned_delete_bytes(self) -> int:
        return sum(c.planned_delete_bytes for c in self.cameras)

    @property
    def all_errors(self) -> list[str]:
        out = list(self.errors)
        for cam in self.cameras:
            out.extend(f"{cam.camera}: {e}" for e in cam.errors)
        return out[:_MAX_ERRORS]

    @property
    def ok(self) -> bool:
        return not self.errors and not any(c.errors for c in self.cameras)

    def to_dict(self) -> dict[str, Any]:
        return {
            "startedAt": self.started_at.isoformat(),
            "dryRun": self.dry_run,
            "camerasCovered": len(self.cameras),
            "objectsDeleted": self.deleted,
            "bytesFreed": self.bytes_freed,
            "objectsArchived": self.archived,
            "plannedDelete": self.planned_delete,
            "plannedDeleteBytes": self.planned_delete_bytes,
            "errors": self.all_errors,
            "cameras": [asdict(c) for c in self.cameras],
        }


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _copy_verified(store: ObjectStore, archive: ObjectStore, obj: StoredObject) -> str | None:
    """Copy one object to the archive and read the copy back; None when it checks out, else why not."""
    try:
        store.copy_to(obj.key, archive, obj.key)
        copy = archive.stat(obj.key)
        source = store.stat(obj.key)
    except StorageError as exc:
        return f"archive {obj.key}: {exc}"
    if copy is None:
        return f"archive {obj.key}: the copy is missing after copying"
    expected = source if source is not None else obj
    if copy.size != expected.size:
        return f"archive {obj.key}: the copy has {copy.size} bytes, the original {expected.size}"
    theirs = {k.lower(): v for k, v in copy.metadata.items()}
    for name, value in expected.metadata.items():
        if theirs.get(name.lower()) != value:
            return f"archive {obj.key}: the copy's metadata {name!r} differs"
    return None


def _archive(
    store: ObjectStore, archive: ObjectStore, objects: Sequence[StoredObject], report: CameraReport
) -> set[str]:
    """Copy ``objects`` into the archive; return the keys whose copies checked out."""
    verified: set[str] = set()
    if not objects:
        return verified
    with ThreadPoolExecutor(max_workers=_COPY_WORKERS, thread_name_prefix="camops-archive") as pool:
        for obj, problem in zip(objects, pool.map(lambda o: _copy_verified(store, archive, o), objects), strict=True):
            if problem is None:
                verified.add(obj.key)
            else:
                report.error(problem)
    report.archived = len(verified)
    return verified


def _delete(store: ObjectStore, objects: Sequence[StoredObject], report: CameraReport) -> None:
    sizes = {o.key: o.size for o in objects}
    keys = [o.key for o in objects]
    for batch in _chunks(keys, BATCH_SIZE):
        failures = store.remove(batch)
        failed = {key for key, _ in failures}
        for key, why in failures[:_MAX_ERRORS]:
            report.error(f"delete {key}: {why}")
        for key in batch:
            if key not in failed:
                report.deleted += 1
                report.bytes_freed += sizes[key]


def run_camera(
    store: ObjectStore,
    scope: CameraScope,
    rules: RetentionRules,
    now: datetime,
    *,
    archive: ObjectStore | None = None,
    dry_run: bool = False,
    planned_keys: list[str] | None = None,
) -> CameraReport:
    """List, plan and (unless ``dry_run``) archive and delete for one camera."""
    report = CameraReport(camera=scope.camera, key_prefix=scope.key_prefix)
    if rules.archives and archive is None:
        raise ValueError("the rules archive but no archive store was given")
    try:
        before = rules.listing_cutoff(now)
        folders = FolderCount()
        objects = list(list_camera(store, scope, before, folders))
        if before is not None and scope.layout is Layout.DATED:
            report.day_folders_listed, report.day_folders_newer = folders.read, folders.skipped
        archived = list_sizes(archive, scope, before) if archive is not None and rules.archives else None
    except StorageError as exc:
        report.error(f"listing {scope.key_prefix}: {exc}")
        return report
    plan: CameraPlan = plan_camera(scope, objects, now, rules, archived)
    report.listed = plan.listed
    report.planned_delete = len(plan.delete)
    report.planned_delete_bytes = plan.delete_bytes
    report.planned_archive = len(plan.archive)
    report.by_age = plan.count(Reason.AGE)
    report.by_quota = plan.count(Reason.QUOTA)
    report.protected_young = plan.protected_young
    report.kept = plan.kept
    report.kept_bytes = plan.kept_bytes
    if dry_run:
        if planned_keys is not None:
            planned_keys.extend(o.key for o in plan.delete)
        return report
    deletable = list(plan.delete)
    if archive is not None and rules.archives:
        pending = {o.key for o in plan.archive}
        verified = _archive(store, archive, plan.archive, report)
        deletable = [o for o in deletable if o.key not in pending or o.key in verified]
    try:
        _delete(store, deletable, report)
    except StorageError as exc:
        report.error(f"delete: {exc}")
    return report


def run_retention(
    store: ObjectStore,
    scopes: Sequence[CameraScope],
    rules: RetentionRules,
    now: datetime,
    *,
    archive: ObjectStore | None = None,
    dry_run: bool = False,
    on_camera: Callable[[CameraReport], None] | None = None,
) -> RunReport:
    """Run the rules over every camera in ``scopes``; one camera's failure does not stop the others."""
    report = RunReport(started_at=now, dry_run=dry_run)
    for scope in scopes:
        cam = run_camera(
            store,
            scope,
            rules,
            now,
            archive=archive,
            dry_run=dry_run,
            planned_keys=report.planned_keys if dry_run else None,
        )
        report.cameras.append(cam)
        log.info(
            "retention camera=%s prefix=%s listed=%d newer_day_folders=%s planned=%d deleted=%d bytes_freed=%d "
            "archived=%d protected_young=%d errors=%d dry_run=%s",
            cam.camera,
            cam.key_prefix,
            cam.listed,
            cam.day_folders_newer,
            cam.planned_delete,
            cam.deleted,
            cam.bytes_freed,
            cam.archived,
            cam.protected_young,
            len(cam.errors),
            dry_run,
        )
        if on_camera is not None:
            on_camera(cam)
    return report

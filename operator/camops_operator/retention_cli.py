"""``camops retention``: delete old objects by age and per-camera quota, archive first.

Two ways to run it:

- in a cluster (the ``<policy>-retention`` CronJob): ``--policy NAMESPACE/NAME`` reads
  the RetentionPolicy, resolves its selector to Cameras and their storage, runs, and
  writes what it did to the policy's status;
- by hand or from cron: ``--bucket B --prefix P --max-age 7d [--archive-bucket A]``
  (or ``--dir D``), every camera folder below the prefix.

Bad input (an unparsable duration, a selector matching nothing, a missing bucket,
no permission) prints one clear line, exits 2 and deletes nothing. A run that hit
storage errors exits 1. ``--dry-run`` prints the plan and changes nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from camops_operator.api.camera import Camera
from camops_operator.api.common import DurationText, QuantityText, describe_error, make_condition, rfc3339
from camops_operator.api.retention import RetentionPolicy, RetentionPolicyStatus
from camops_workers.contract import CredentialRef, StorageConfig
from camops_workers.redact import redact
from camops_workers.retention.job import CameraReport, RunReport, run_retention
from camops_workers.retention.lister import discover_scopes
from camops_workers.retention.options import (
    STORAGE_SECRETS_DIR_ENV,
    add_storage_arguments,
    credential_refs,
    storage_config,
)
from camops_workers.retention.planner import CameraScope, RetentionRules
from camops_workers.retention.stats_cli import parse_now
from camops_workers.storage.base import ObjectStore, StorageError, TransientStorageError
from camops_workers.storage.keys import Layout
from camops_workers.units import format_bytes

__all__ = [
    "LAST_RUN_CONDITION",
    "BadInputError",
    "UnavailableError",
    "configure",
    "main",
    "policy_status",
    "render_report",
    "rules_from_policy",
]

log = logging.getLogger("camops.retention")

#: The condition the job owns on a RetentionPolicy (the operator owns Ready).
LAST_RUN_CONDITION = "LastRunSucceeded"
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class BadInputError(Exception):
    """The command cannot start: the message says what to fix. Nothing was deleted."""


class UnavailableError(Exception):
    """Storage or the Kubernetes API cannot be reached right now (retry later). Nothing was deleted."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", metavar="NAMESPACE/NAME", help="run a RetentionPolicy (in a cluster)")
    add_storage_arguments(parser, required=False)
    parser.add_argument("--max-age", help="delete objects older than this, e.g. 7d, 36h")
    parser.add_argument("--max-bytes-per-camera", help="delete the oldest objects until a camera stores at most this")
    parser.add_argument("--archive-bucket", help="copy objects here (same endpoint) and check the copy before deleting")
    parser.add_argument("--archive-dir", help="archive into a local folder instead")
    parser.add_argument("--archive-after", help="archive objects older than this (default: --max-age)")
    parser.add_argument("--camera", action="append", default=[], help="only this camera (repeatable)")
    parser.add_argument("--layout", choices=[layout.value for layout in Layout], default=Layout.DATED.value)
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--keys", action="store_true", help="with --dry-run: print every key the plan would delete")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument("--now", help="plan as of this ISO 8601 time (default: now)")
    parser.add_argument(
        "--storage-secrets-dir",
        default=os.environ.get(STORAGE_SECRETS_DIR_ENV) or None,
        help=(
            "with --policy: folder holding one folder per Camera storage Secret (spec.storage.secretRef), "
            f"as the CronJob mounts them (default ${STORAGE_SECRETS_DIR_ENV})"
        ),
    )


def main(args: argparse.Namespace) -> int:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        if args.policy:
            return _run_policy(args)
        return _run_standalone(args)
    except BadInputError as exc:
        print(f"camops retention: {redact(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except UnavailableError as exc:
        print(f"camops retention: {redact(exc)}", file=sys.stderr)
        return EXIT_FAILED


# -- standalone ------------------------------------------------------------------------------


def _duration(flag: str, text: str) -> float:
    try:
        return DurationText(text).seconds
    except ValueError as exc:
        raise BadInputError(f"{flag}: {exc}") from None


def _standalone_rules(args: argparse.Namespace) -> RetentionRules:
    if not args.max_age:
        raise BadInputError("--max-age is required (e.g. --max-age 7d)")
    max_age = _duration("--max-age", args.max_age)
    max_bytes = None
    if args.max_bytes_per_camera:
        try:
            max_bytes = QuantityText(args.max_bytes_per_camera).bytes
        except ValueError as exc:
            raise BadInputError(f"--max-bytes-per-camera: {exc}") from None
    archives = bool(args.archive_bucket or args.archive_dir)
    if args.archive_after and not archives:
        raise BadInputError("--archive-after needs --archive-bucket or --archive-dir")
    after = _duration("--archive-after", args.archive_after) if args.archive_after else max_age
    try:
        return RetentionRules(max_age_s=max_age, max_bytes=max_bytes, archive_after_s=after if archives else None)
    except ValueError as exc:
        raise BadInputError(str(exc)) from None


def _open(config: StorageConfig, what: str) -> ObjectStore:
    """Open a store and make sure its bucket exists (it is never created here)."""
    from camops_workers.storage.factory import open_store

    try:
        store = open_store(config)
        store.ensure_bucket()
    except TransientStorageError as exc:
        raise UnavailableError(f"{what}: {exc}") from None
    except StorageError as exc:
        raise BadInputError(f"{what}: {exc}") from None
    return store


def _run_standalone(args: argparse.Namespace) -> int:
    if not (args.bucket or args.dir):
        raise BadInputError("say where: --bucket B (S3) or --dir D (a folder), or --policy NAMESPACE/NAME in a cluster")
    if args.archive_bucket and args.archive_dir:
        raise BadInputError("choose one of --archive-bucket and --archive-dir")
    if args.archive_bucket and not args.bucket:
        raise BadInputError("--archive-bucket needs --bucket (same endpoint); with --dir use --archive-dir")
    rules = _standalone_rules(args)
    try:
        now = parse_now(args.now)
        config = storage_config(args)
        archive_config = None
        if args.archive_bucket:
            archive_config = storage_config(args, bucket=args.archive_bucket)
        elif args.archive_dir:
            archive_config = storage_config(args, directory=args.archive_dir)
    except ValueError as exc:
        raise BadInputError(str(exc)) from None
    store = _open(config, "storage")
    archive = _open(archive_config, "archive") if archive_config is not None else None
    try:
        scopes = discover_scopes(store, config.prefix, Layout(args.layout), args.camera)
    except TransientStorageError as exc:
        raise UnavailableError(f"listing {store.description}: {exc}") from None
    except StorageError as exc:
        raise BadInputError(f"listing {store.description}: {exc}") from None
    except ValueError as exc:
        raise BadInputError(str(exc)) from None
    if not scopes:
        raise BadInputError(f"no camera folders below {config.prefix or 'the top'} of {store.description}")
    report = run_retention(store, scopes, rules, now, archive=archive, dry_run=args.dry_run)
    _print(report, args)
    return EXIT_OK if report.ok else EXIT_FAILED


# -- output ----------------------------------------------------------------------------------


def _folders(cam: CameraReport) -> str:
    """Where the listed objects came from, so 'listed 0' never reads as 'the camera holds nothing'."""
    if cam.day_folders_listed is None:
        return ""
    text = f" in {cam.day_folders_listed:,} day folders older than the cutoff"
    if cam.day_folders_newer:
        text += f" ({cam.day_folders_newer:,} newer not listed)"
    return text


def render_report(report: RunReport) -> str:
    """One line per camera and the totals, for people."""
    verb = "would delete" if report.dry_run else "deleted"
    lines = [f"retention {'(dry run) ' if report.dry_run else ''}as of {report.started_at:%Y-%m-%d %H:%M:%S} UTC"]
    for cam in report.cameras:
        done = cam.planned_delete if report.dry_run else cam.deleted
        freed = cam.planned_delete_bytes if report.dry_run else cam.bytes_freed
        archived = cam.planned_archive if report.dry_run else cam.archived
        lines.append(
            f"  {cam.camera:<24} listed {cam.listed:>8,}{_folders(cam)}  {verb} {done:>8,} ({format_bytes(freed)}; "
            f"age {cam.by_age:,}, quota {cam.by_quota:,})  archived {archived:,}  kept {cam.kept:,}"
            + (f"  protected (clock) {cam.protected_young:,}" if cam.protected_young else "")
            + (f"  errors {len(cam.errors)}" if cam.errors else "")
        )
    done = report.planned_delete if report.dry_run else report.deleted
    freed = report.planned_delete_bytes if report.dry_run else report.bytes_freed
    lines.append(f"{len(report.cameras)} cameras, {verb} {done:,} objects ({format_bytes(freed)})")
    return "\n".join(lines)


def _print(report: RunReport, args: argparse.Namespace) -> None:
    if args.json:
        out = report.to_dict()
        if report.dry_run and args.keys:
            out["plannedKeys"] = report.planned_keys
        print(json.dumps(out, indent=2))
    else:
        print(render_report(report))
        if report.dry_run and args.keys:
            for key in report.planned_keys:
                print(key)
    for error in report.all_errors:
        print(f"camops retention: {error}", file=sys.stderr)


# -- in a cluster ------------------------------------------------------------------------------


def rules_from_policy(policy: RetentionPolicy) -> RetentionRules:
    """The policy's spec as plain numbers (parsed once, by the model)."""
    spec = policy.spec
    max_age = spec.max_age.seconds
    after: float | None = None
    if spec.archive is not None:
        after = spec.archive.after.seconds if spec.archive.after else max_age
    max_bytes = spec.max_bytes_per_camera.bytes if spec.max_bytes_per_camera else None
    return RetentionRules(max_age_s=max_age, max_bytes=max_bytes, archive_after_s=after)


def policy_status(
    previous: RetentionPolicyStatus | None,
    *,
    started: datetime,
    finished: datetime,
    report: RunReport | None,
    cameras: int,
    errors: Sequence[str],
    reason: str,
    message: str,
) -> dict[str, Any]:
    """The status patch after a run (pure). Keeps other writers' conditions; moves the
    transition time of ``LastRunSucceeded`` only when its status changes."""
    ok = report is not None and report.ok and not errors
    all_errors = [*errors, *(report.all_errors if report is not None else [])][:20]
    state: Literal["True", "False"] = "True" if ok else "False"
    prior = previous.conditions if previous is not None else []
    old = next((c for c in prior if c.type == LAST_RUN_CONDITION), None)
    condition = make_condition(LAST_RUN_CONDITION, state, reason, message, now=finished, before=old)
    conditions = [c for c in prior if c.type != LAST_RUN_CONDITION] + [condition]
    status: dict[str, Any] = {
        "lastRun": rfc3339(started),
        "objectsDeleted": report.deleted if report is not None else 0,
        "bytesFreed": report.bytes_freed if report is not None else 0,
        "objectsArchived": report.archived if report is not None else 0,
        "camerasCovered": cameras,
        "errors": [redact(e) for e in all_errors],
        "conditions": [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in conditions],
    }
    if ok:
        status["lastSuccess"] = rfc3339(finished)
    return status


def _split_policy(text: str) -> tuple[str, str]:
    namespace, sep, name = text.partition("/")
    if not sep or not namespace or not name or "/" in name:
        raise BadInputError(f"--policy {text!r}: expected NAMESPACE/NAME")
    return namespace, name


def _kube_errors() -> tuple[type[BaseException], ...]:
    """What a Kubernetes API call raises when the cluster says no or cannot be reached."""
    import urllib3
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config import ConfigException

    return (ApiException, ConfigException, urllib3.exceptions.HTTPError, OSError)


def _api_problem(exc: BaseException, what: str) -> BadInputError | UnavailableError:
    """Sort a Kubernetes API failure: missing or forbidden is bad input; unreachable or 5xx is not."""
    status = getattr(exc, "status", None)
    if status == 404:
        return BadInputError(f"{what}: not found")
    if status in {401, 403}:
        return BadInputError(f"{what}: no permission ({status}); the job's service account needs it")
    detail = redact(getattr(exc, "reason", None) or exc)
    if isinstance(status, int) and 400 <= status < 500:
        return BadInputError(f"{what}: {status} {detail}")
    if type(exc).__name__ == "ConfigException":
        return BadInputError(f"{what}: no Kubernetes configuration ({detail})")
    return UnavailableError(f"{what}: {detail}")


@dataclass
class _Group:
    """Cameras that share one bucket on one endpoint."""

    config: StorageConfig
    scopes: list[CameraScope] = field(default_factory=list)


def _camera_credentials(
    camera: Camera, default: tuple[CredentialRef, CredentialRef], secrets_dir: str | None
) -> tuple[CredentialRef, CredentialRef] | str:
    """The credentials a camera stores with: its own storage Secret as the CronJob mounts it, else the default.

    A string says why there are none (the Secret is not mounted in this run).
    """
    ref = camera.spec.storage.secret_ref
    if ref is None:
        return default
    folder = Path(secrets_dir) / ref.name if secrets_dir else None
    files = (folder / ref.access_key_key, folder / ref.secret_key_key) if folder is not None else None
    if files is None or not all(f.is_file() for f in files):
        return (
            f"{camera.name}: skipped, its storage Secret {ref.name!r} (keys {ref.access_key_key!r}, "
            f"{ref.secret_key_key!r}) is not mounted in this run; the operator adds it to the CronJob "
            "within a minute of the Camera's change (a missing Secret or key stays skipped)"
        )
    return CredentialRef(file=str(files[0])), CredentialRef(file=str(files[1]))


def _camera_groups(
    cameras: Sequence[Camera], credentials_dir: str | None, secrets_dir: str | None = None
) -> tuple[list[_Group], list[str]]:
    """Cameras grouped by where they store and with which credentials (one store and listing per group)."""
    from camops_operator.settings import OperatorSettings, SettingsError

    try:
        settings = OperatorSettings.from_env(os.environ)
    except SettingsError as exc:
        raise BadInputError(f"settings: {exc}") from None
    default = credential_refs(credentials_dir)
    groups: dict[tuple[str, str, str], _Group] = {}
    errors: list[str] = []
    for camera in cameras:
        spec = camera.spec.storage
        credentials = _camera_credentials(camera, default, secrets_dir)
        if isinstance(credentials, str):
            errors.append(credentials)
            continue
        endpoint = spec.endpoint or settings.storage_endpoint
        if not endpoint:
            errors.append(f"{camera.name}: skipped, no storage endpoint (CAMOPS_STORAGE_ENDPOINT is not set)")
            continue
        bucket = spec.bucket or settings.storage_bucket
        key = (endpoint, bucket, spec.secret_ref.name if spec.secret_ref is not None else "")
        group = groups.get(key)
        if group is None:
            access, secret = credentials
            config = StorageConfig(
                kind="s3",
                endpoint=endpoint,
                secure=settings.storage_secure,
                region=settings.storage_region,
                bucket=bucket,
                create_bucket=False,
                access_key=access,
                secret_key=secret,
            )
            group = groups[key] = _Group(config)
        group.scopes.append(CameraScope(camera.name, spec.prefix, Layout(spec.layout)))
    return list(groups.values()), errors


def _merge(into: RunReport, report: RunReport) -> RunReport:
    into.cameras.extend(report.cameras)
    into.errors.extend(report.errors)
    into.planned_keys.extend(report.planned_keys)
    return into


@dataclass
class _Target:
    """The policy a ``--policy`` run works for."""

    namespace: str
    name: str
    started: datetime
    previous: RetentionPolicyStatus | None = None

    def fail(self, message: str, reason: str) -> int:
        """Bad input in a cluster: say it on stderr and in the policy's status; delete nothing."""
        print(f"camops retention: {redact(message)}", file=sys.stderr)
        status = policy_status(
            self.previous,
            started=self.started,
            finished=self.started,
            report=None,
            cameras=0,
            errors=[message],
            reason=reason,
            message=message,
        )
        _patch(self.namespace, self.name, status)
        return EXIT_BAD_INPUT


def _load_policy(target: _Target) -> tuple[RetentionPolicy, RetentionRules] | str:
    """The validated policy and its rules, or what is wrong with it."""
    from camops_workers import kube

    try:
        body = kube.get_retention_policy(target.namespace, target.name)
    except _kube_errors() as exc:
        raise _api_problem(exc, f"RetentionPolicy {target.namespace}/{target.name}") from None
    try:
        target.previous = RetentionPolicyStatus.model_validate(body.get("status") or {})
    except ValidationError:
        target.previous = None
    try:
        policy = RetentionPolicy.model_validate(body)
        return policy, rules_from_policy(policy)
    except ValidationError as exc:
        return f"invalid RetentionPolicy: {describe_error(exc)}"
    except ValueError as exc:
        return f"invalid RetentionPolicy: {exc}"


def _selected_cameras(policy: RetentionPolicy, items: Sequence[dict[str, Any]]) -> tuple[list[Camera], list[str]]:
    cameras: list[Camera] = []
    errors: list[str] = []
    for item in items:
        meta = item.get("metadata") or {}
        if not policy.spec.selector.matches(meta.get("labels") or {}):
            continue
        try:
            cameras.append(Camera.model_validate(item))
        except ValidationError as exc:
            errors.append(f"{meta.get('name', '?')}: skipped, invalid Camera: {describe_error(exc)}")
    return cameras, errors


def _run_groups(
    groups: Sequence[_Group], policy: RetentionPolicy, rules: RetentionRules, now: datetime, dry_run: bool
) -> tuple[RunReport, list[str]]:
    report = RunReport(started_at=now, dry_run=dry_run)
    errors: list[str] = []
    for group in groups:
        try:
            store = _open(group.config, f"bucket {group.config.bucket}")
            archive = None
            if policy.spec.archive is not None:
                archive_config = group.config.model_copy(update={"bucket": policy.spec.archive.bucket})
                archive = _open(archive_config, f"archive bucket {policy.spec.archive.bucket}")
        except (BadInputError, UnavailableError) as exc:
            errors.append(f"{', '.join(s.camera for s in group.scopes)}: {exc}")
            continue
        report = _merge(report, run_retention(store, group.scopes, rules, now, archive=archive, dry_run=dry_run))
    return report, errors


def _summary(report: RunReport) -> str:
    dry_run = report.dry_run
    count = report.planned_delete if dry_run else report.deleted
    size = report.planned_delete_bytes if dry_run else report.bytes_freed
    verb = "dry run: would delete" if dry_run else "deleted"
    message = f"{verb} {count} objects ({format_bytes(size)}) of {len(report.cameras)} cameras"
    if not report.ok:
        message += f"; {len(report.all_errors)} errors, first: {report.all_errors[0]}"
    return message


def _run_policy(args: argparse.Namespace) -> int:
    from camops_workers import kube

    if args.bucket or args.dir or args.max_age:
        raise BadInputError("--policy takes its storage and limits from the cluster; drop --bucket/--dir/--max-age")
    namespace, name = _split_policy(args.policy)
    try:
        now = parse_now(args.now)
    except ValueError as exc:
        raise BadInputError(str(exc)) from None
    target = _Target(namespace, name, now)
    loaded = _load_policy(target)
    if isinstance(loaded, str):
        return target.fail(loaded, "InvalidSpec")
    policy, rules = loaded
    try:
        items = kube.list_cameras(namespace)
    except _kube_errors() as exc:
        problem = _api_problem(exc, f"Cameras in {namespace}")
        code = target.fail(str(problem), "CamerasUnreadable")
        return EXIT_FAILED if isinstance(problem, UnavailableError) else code
    cameras, errors = _selected_cameras(policy, items)
    if not cameras and not errors:
        return target.fail(f"the selector matches no Camera in {namespace}", "NoCamerasSelected")
    groups, group_errors = _camera_groups(cameras, args.credentials_dir, args.storage_secrets_dir)
    dry_run = bool(args.dry_run or policy.spec.dry_run)
    report, run_errors = _run_groups(groups, policy, rules, now, dry_run)
    report.errors[:0] = [*errors, *group_errors, *run_errors]
    _print(report, args)
    finished = datetime.now(UTC) if args.now is None else now
    ok = report.ok
    log.info(
        "retention policy=%s/%s cameras=%d deleted=%d bytes_freed=%d archived=%d errors=%d dry_run=%s",
        namespace,
        name,
        len(report.cameras),
        report.deleted,
        report.bytes_freed,
        report.archived,
        len(report.all_errors),
        dry_run,
    )
    status = policy_status(
        target.previous,
        started=now,
        finished=finished,
        report=report,
        cameras=len(report.cameras),
        errors=[],
        reason=("DryRun" if dry_run else "Succeeded") if ok else "Failed",
        message=_summary(report),
    )
    if not _patch(namespace, name, status):
        return EXIT_FAILED
    return EXIT_OK if ok else EXIT_FAILED


def _patch(namespace: str, name: str, status: dict[str, Any]) -> bool:
    from camops_workers import kube

    try:
        kube.patch_retention_status(namespace, name, status)
    except _kube_errors() as exc:
        problem = _api_problem(exc, f"status of RetentionPolicy {namespace}/{name}")
        print(f"camops retention: {problem}", file=sys.stderr)
        return False
    return True

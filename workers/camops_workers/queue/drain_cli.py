"""``camops drain``: upload everything in an offline queue, then exit.

Run by the drain CronJob for a camera whose worker is stopped, and by hand. Storage
comes from ``--config`` (the worker contract file), else from flags and environment:

    CAMOPS_STORAGE_ENDPOINT   host:port or http(s)://host:port
    CAMOPS_STORAGE_BUCKET     bucket name
    CAMOPS_STORAGE_SECURE     true/false (default true; an http:// endpoint means false)
    CAMOPS_STORAGE_REGION     optional
    CAMOPS_STORAGE_ACCESS_KEY / CAMOPS_STORAGE_SECRET_KEY            the credentials, or
    CAMOPS_STORAGE_ACCESS_KEY_FILE / CAMOPS_STORAGE_SECRET_KEY_FILE  files holding them (mounted Secret keys)

Credentials are never taken as flag values (they would show in ``ps`` and in logs),
only as files (``--access-key-file``) or environment variables.

Exit codes: 0 the queue has nothing left to upload (or ``--max-seconds`` passed; what
is left is printed), 3 items are parked as failed (run ``camops queue stats``), 2 bad
usage or configuration.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from camops_workers.contract import CredentialRef, StorageConfig, load_config
from camops_workers.queue.durable import DurableQueue, QueueLimits, QueueStats
from camops_workers.queue.uploader import UploaderPool
from camops_workers.redact import redact
from camops_workers.storage.base import StorageError
from camops_workers.storage.factory import open_store
from camops_workers.units import format_bytes, parse_duration

__all__ = ["EXIT_FAILED_ITEMS", "configure", "main", "progress_line", "recover_leftovers", "storage_from"]

EXIT_FAILED_ITEMS = 3
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.allow_abbrev = False  # "--secret-key VALUE" must fail, not be taken for --secret-key-file
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "environment: CAMOPS_STORAGE_ENDPOINT, _BUCKET, _SECURE, _REGION, _ACCESS_KEY[_FILE], _SECRET_KEY[_FILE]"
    )
    parser.add_argument("--queue", metavar="DIR", help="the queue folder (default: the contract's queue.directory)")
    parser.add_argument("--config", metavar="FILE", help="a worker contract file: take storage and queue from it")
    parser.add_argument("--endpoint", help="S3 endpoint host:port or URL (env CAMOPS_STORAGE_ENDPOINT)")
    parser.add_argument("--bucket", help="bucket (env CAMOPS_STORAGE_BUCKET)")
    parser.add_argument("--region", help="region (env CAMOPS_STORAGE_REGION)")
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument("--secure", dest="secure", action="store_true", default=None, help="use HTTPS")
    tls.add_argument("--insecure", dest="secure", action="store_false", help="use plain HTTP")
    parser.add_argument("--access-key-file", metavar="FILE", help="file holding the access key")
    parser.add_argument("--secret-key-file", metavar="FILE", help="file holding the secret key")
    parser.add_argument("--local-dir", metavar="DIR", help="upload into this folder instead of S3 (local mode)")
    parser.add_argument("--no-create-bucket", action="store_true", help="fail instead of creating a missing bucket")
    parser.add_argument("--workers", type=int, default=3, help="parallel uploads (default 3)")
    parser.add_argument("--lease", default="60s", help="how long a claimed item stays ours without renewal (60s)")
    parser.add_argument("--max-seconds", type=float, default=None, help="stop after this long even if items remain")
    parser.add_argument(
        "--max-age",
        default=None,
        help="expire (and count) items captured longer ago than this, e.g. 7d (default: the contract's, else never)",
    )
    parser.add_argument("--progress-every", type=float, default=5.0, help="seconds between progress lines (5)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def _flag(value: str | None, name: str) -> bool | None:
    if value is None or value == "":
        return None
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{name}={value!r}: expected true or false")


def storage_from(args: argparse.Namespace, env: Mapping[str, str]) -> StorageConfig:
    """The storage to drain into: contract file, else flags over environment (pure apart from reading --config)."""
    if args.config:
        return load_config(args.config).storage
    if args.local_dir:
        return StorageConfig(kind="local", directory=args.local_dir, create_bucket=not args.no_create_bucket)
    endpoint = args.endpoint or env.get("CAMOPS_STORAGE_ENDPOINT")
    if not endpoint:
        raise ValueError("no storage given: pass --endpoint (or set CAMOPS_STORAGE_ENDPOINT), --local-dir or --config")
    secure = (
        args.secure if args.secure is not None else _flag(env.get("CAMOPS_STORAGE_SECURE"), "CAMOPS_STORAGE_SECURE")
    )
    if secure is None:
        secure = not endpoint.startswith("http://")

    def credential(flag_file: str | None, name: str) -> CredentialRef | None:
        if flag_file:
            return CredentialRef(file=flag_file)
        if env.get(f"{name}_FILE"):
            return CredentialRef(file=env[f"{name}_FILE"])
        if env.get(name):
            return CredentialRef(env=name)
        return None

    return StorageConfig(
        kind="s3",
        endpoint=endpoint,
        secure=secure,
        region=args.region or env.get("CAMOPS_STORAGE_REGION") or None,
        bucket=args.bucket or env.get("CAMOPS_STORAGE_BUCKET") or "camops",
        create_bucket=not args.no_create_bucket,
        access_key=credential(args.access_key_file, "CAMOPS_STORAGE_ACCESS_KEY"),
        secret_key=credential(args.secret_key_file, "CAMOPS_STORAGE_SECRET_KEY"),
    )


def progress_line(stats: QueueStats, breaker: str, last_error: str | None) -> str:
    """One progress line: what is left, what went, and why it is stuck when it is."""
    line = (
        f"drain: pending={stats.pending} failed={stats.failed} bytes={format_bytes(stats.bytes)} "
        f"uploaded={stats.uploaded} dropped={stats.dropped} expired={stats.expired} storage={breaker}"
    )
    if last_error:  # cleared by the next successful upload
        line += f" last_error={redact(last_error)!r}"
    return line


def recover_leftovers(queue: DurableQueue, directory: Path, camera: str | None, storage: StorageConfig) -> int:
    """Put the segments a killed worker left half-written into the queue, as the worker's next start
    would (``capture.recovery``): the contract's camera, else every camera noted in the work folder."""
    # Imported here: PyAV is only needed when there is something to recover.
    from camops_workers.capture.recovery import WORK_DIR, noted_cameras, recover_segments, store_recovered

    work = directory / WORK_DIR
    if not any(work.glob("*.mp4.part")):
        return 0
    from camops_workers.capture.segments import SegmentWriter

    cameras = {camera: storage} if camera else noted_cameras(work)
    count = 0
    for name, keys in cameras.items():
        writer = SegmentWriter(work, name, 60.0)
        count += recover_segments(writer, store_recovered(queue.put, name, keys))
    return count


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)

    try:
        storage = storage_from(args, os.environ)
        lease_s = parse_duration(args.lease)
        # Without a contract the drain knows nothing of the camera's bounds: it expires nothing
        # unless told (--max-age), so it can never throw away what the worker would have kept.
        limits = QueueLimits(max_bytes=2**62, max_items=2**62, max_age_s=0.0, overflow="dropOldest")
        directory = args.queue
        contract = None
        if args.config:
            contract = load_config(args.config)
            limits = QueueLimits.from_config(contract.queue)
            directory = directory or contract.queue.directory
        if args.max_age:
            limits = replace(limits, max_age_s=parse_duration(args.max_age))
        if not directory:
            raise ValueError("no queue given: pass --queue DIR (or --config FILE)")
        if not (Path(directory) / "queue.db").exists():
            raise ValueError(f"no queue in {directory} (queue.db missing)")
        if args.workers < 1:
            raise ValueError("--workers must be at least 1")
        store = open_store(storage, pool_size=max(10, args.workers + 2))
    except (ValueError, OSError, StorageError) as exc:
        print(f"camops drain: {redact(exc)}", file=sys.stderr)
        return 2
    queue = DurableQueue(directory, limits)
    pool = UploaderPool(queue, store, workers=args.workers, lease_s=lease_s)
    print(f"drain: queue {queue.name} -> {store.description}", flush=True)
    recovered = recover_leftovers(queue, Path(directory), contract.camera if contract else None, storage)
    if recovered:
        print(f"drain: recovered {recovered} segment(s) a stopped worker left half-written", flush=True)

    last_line = [-1e18]

    def progress(stats: QueueStats) -> None:
        now = time.monotonic()
        if args.quiet or (now - last_line[0] < args.progress_every and stats.pending):
            return
        last_line[0] = now
        print(progress_line(stats, pool.breaker_state, pool.last_error), flush=True)

    try:
        stats = pool.drain(max_seconds=args.max_seconds, progress=progress)
    finally:
        queue.close()
    if stats.pending:
        print(f"drain: stopped after {args.max_seconds}s with {stats.pending} items left", flush=True)
    if stats.failed:
        print(
            f"drain: {stats.failed} items parked as failed: see `camops queue stats --queue {directory}`, "
            f"fix the cause, then `camops queue retry --queue {directory}`",
            flush=True,
        )
        return EXIT_FAILED_ITEMS
    return 0

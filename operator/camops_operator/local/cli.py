"""``camops local -f FILE... [--data DIR] [--endpoint URL] [--demo] [--seconds N]``.

Runs Camera manifests on this machine with no cluster: one capture worker per
Camera, objects in a local folder (``<data>/<camera>/<YYYY-MM>/<DD>/...`` plus
``latest.jpg``) or in S3/MinIO when ``--endpoint`` is given, the offline queue under
``<data>/.camops/``, RetentionPolicies on their schedules. ``--demo`` needs no
manifests and no camera: it runs three synthetic ones.

Exit codes: 0 after a clean stop (the time ran out, or Ctrl-C), 1 when a worker
failed, 2 for invalid manifests or options.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

from camops_operator.local.manifests import ManifestError, ManifestSet, load_manifests
from camops_operator.local.plan import LocalTarget, PlanError, PlannedCamera, plan_cameras
from camops_workers.units import parse_duration

__all__ = ["DEFAULT_DATA_DIR", "configure", "main"]

DEFAULT_DATA_DIR = Path("camops-data")
#: the web console's address (loopback only); see docs/console.md
DEFAULT_CONSOLE = "127.0.0.1:8080"


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        try:
            value = parse_duration(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f",
        "--filename",
        dest="files",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="YAML with Camera, RetentionPolicy and Secret objects (repeatable)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA_DIR,
        metavar="DIR",
        help=f"folder for captured objects, queues and logs (default: ./{DEFAULT_DATA_DIR})",
    )
    parser.add_argument(
        "--endpoint",
        metavar="URL",
        help="store in S3/MinIO at this endpoint (http://host:port or https://host:port) instead of --data; "
        "credentials from a Secret named by spec.storage.secretRef (default camops-storage) in the files, "
        "or $CAMOPS_STORAGE_ACCESS_KEY and $CAMOPS_STORAGE_SECRET_KEY",
    )
    parser.add_argument("--bucket", default="camops", help="bucket for --endpoint when a Camera names none")
    parser.add_argument("--region", default=None, help="S3 region for --endpoint")
    parser.add_argument("--demo", action="store_true", help="run three bundled synthetic cameras (no -f needed)")
    parser.add_argument(
        "--seconds", type=_seconds, default=None, metavar="N", help="stop after N seconds (default: run until Ctrl-C)"
    )
    parser.add_argument(
        "--console",
        default=DEFAULT_CONSOLE,
        metavar="ADDR",
        help=f"serve the web console on this loopback address (default: {DEFAULT_CONSOLE})",
    )
    parser.add_argument("--no-console", action="store_true", help="do not serve the web console")
    parser.add_argument("-v", "--verbose", action="store_true", help="also print log lines to stderr")


def _target(args: argparse.Namespace) -> LocalTarget:
    from camops_workers.storage.factory import split_endpoint

    if not args.endpoint:
        return LocalTarget(data_dir=args.data.absolute(), mediamtx_rtsp_url=os.environ.get("CAMOPS_MEDIAMTX_RTSP_URL"))
    endpoint, secure = split_endpoint(args.endpoint, secure=True)
    return LocalTarget(
        data_dir=args.data.absolute(),
        endpoint=endpoint,
        secure=secure,
        bucket=args.bucket,
        region=args.region,
        mediamtx_rtsp_url=os.environ.get("CAMOPS_MEDIAMTX_RTSP_URL"),
    )


def _plan(args: argparse.Namespace, target: LocalTarget, err: TextIO) -> tuple[list[PlannedCamera], ManifestSet] | int:
    """Load and plan the manifests; an exit code when they cannot run (the problems printed)."""
    if not args.files:
        print("camops local: give Camera manifests with -f FILE (or try: camops local --demo)", file=err)
        return 2
    try:
        manifests = load_manifests(args.files)
    except ManifestError as exc:
        print(f"camops local: {len(exc.problems)} problem(s) in the manifests:", file=err)
        for problem in exc.problems:
            print(f"  {problem}", file=err)
        return 2
    if not manifests.cameras:
        print(f"camops local: no Camera in {', '.join(map(str, args.files))}", file=err)
        return 2
    for skipped in manifests.skipped:
        print(f"camops local: skipping {skipped} (not used by camops local)", file=err)
    try:
        return plan_cameras(manifests, target, os.environ), manifests
    except PlanError as exc:
        print("camops local: these cameras cannot run here:", file=err)
        for problem in exc.problems:
            print(f"  {problem}", file=err)
        return 2


def console_address(args: argparse.Namespace) -> str | None:
    return None if args.no_console else str(args.console)


def _run(args: argparse.Namespace, target: LocalTarget, plan: tuple[list[PlannedCamera], ManifestSet]) -> int:
    from camops_operator.local.session import configure_logging, run_session

    planned, manifests = plan
    log_path = configure_logging(target.data_dir, verbose=args.verbose, err=sys.stderr)
    result = run_session(
        planned, manifests.policies, target, seconds=args.seconds, out=sys.stdout, console=console_address(args)
    )
    print(f"log: {log_path}")
    return result.code


def main(args: argparse.Namespace) -> int:
    from camops_operator.local.session import DataFolderBusyError, data_lock

    err = sys.stderr
    try:
        target = _target(args)
    except ValueError as exc:
        print(f"camops local: --endpoint: {exc}", file=err)
        return 2
    plan: tuple[list[PlannedCamera], ManifestSet] | None = None
    if args.demo and args.files:
        print("camops local: --demo runs its own cameras; drop -f, or drop --demo", file=err)
        return 2
    if not args.demo:
        loaded = _plan(args, target, err)
        if isinstance(loaded, int):
            return loaded
        plan = loaded
    try:
        with data_lock(target.data_dir):
            if plan is None:
                from camops_operator.local.demo import run_demo

                return run_demo(
                    target,
                    seconds=args.seconds,
                    verbose=args.verbose,
                    out=sys.stdout,
                    err=err,
                    console=console_address(args),
                )
            return _run(args, target, plan)
    except DataFolderBusyError as exc:
        print(f"camops local: {exc}", file=err)
        return 2

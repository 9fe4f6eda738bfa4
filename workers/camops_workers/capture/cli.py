"""``camops capture``: run a capture worker from its contract.

* ``--config FILE`` with one camera's WorkerConfig: that camera's own worker (a Camera's Deployment).
* ``--config FILE`` with a process contract (``{"cameras": [...]}``): many cameras in one process.
* ``--pool-dir DIR``: a CameraPool worker; it serves ``DIR/worker-<ordinal>.json``, the ordinal
  taken from its pod name (``--pod``, default ``$CAMOPS_POD_NAME``), and reloads the file in place.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

__all__ = ["configure", "main"]


def configure(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--config", metavar="FILE", help="worker contract (JSON) the operator rendered")
    where.add_argument("--pool-dir", metavar="DIR", help="a CameraPool's mounted assignment (worker-<ordinal>.json)")
    parser.add_argument("--pod", default=None, help="this pod's name (default $CAMOPS_POD_NAME), for --pool-dir")
    parser.add_argument(
        "--grace",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="after SIGTERM, how long to let the open segment close and the queue flush (default 20)",
    )
    parser.add_argument("--no-http", action="store_true", help="do not serve /healthz, /readyz and /metrics")


def _contract_path(args: argparse.Namespace) -> Path:
    if args.config:
        return Path(args.config)
    from camops_workers.process import ordinal_of

    pod = args.pod or os.environ.get("CAMOPS_POD_NAME", "")
    return Path(args.pool_dir) / f"worker-{ordinal_of(pod)}.json"


def _is_single(path: Path) -> bool:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True  # reported as an invalid config below
    return not (isinstance(raw, dict) and "cameras" in raw)


def _stop_on_signals(stop: threading.Event, what: str) -> None:
    def on_signal(signum: int, frame: FrameType | None) -> None:
        del frame
        logging.getLogger("camops.worker").info("signal received signal=%s %s", signum, what)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def _logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)


def main(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from camops_workers.redact import redact

    try:
        path = _contract_path(args)
    except ValueError as exc:
        print(f"camops capture: {exc}", file=sys.stderr)
        return 2
    if args.config and _is_single(path):
        return _single(args, path)
    from camops_workers.contract import load_process_config
    from camops_workers.process import ContractFile, run_process

    level = "INFO"
    if path.exists() or args.config:  # a pool worker may start before its file: it waits with no cameras
        try:
            level = load_process_config(path).log_level
        except (OSError, ValueError, ValidationError) as exc:
            print(f"camops capture: invalid config {path}: {redact(exc)}", file=sys.stderr)
            return 2
    _logging(level)
    contract = ContractFile(path)
    stop = threading.Event()
    _stop_on_signals(stop, f"contract={path}")
    try:
        return run_process(contract, stop, serve_http=not args.no_http, grace_s=args.grace)
    except Exception as exc:  # noqa: BLE001 - one redacted line instead of a traceback that may carry secrets
        logging.getLogger("camops.worker").error(
            "worker failed contract=%s error=%s: %s", path, type(exc).__name__, redact(exc)
        )
        return 1


def _single(args: argparse.Namespace, path: Path) -> int:
    from pydantic import ValidationError

    from camops_workers.contract import load_config
    from camops_workers.redact import redact
    from camops_workers.runtime import run_worker

    try:
        config = load_config(path)
    except (OSError, ValueError, ValidationError) as exc:
        print(f"camops capture: invalid config {path}: {redact(exc)}", file=sys.stderr)
        return 2
    _logging(config.log_level)
    stop = threading.Event()
    _stop_on_signals(stop, f"camera={config.camera}")
    try:
        return run_worker(config, stop, serve_http=not args.no_http, grace_s=args.grace)
    except Exception as exc:  # noqa: BLE001 - one redacted line instead of a traceback that may carry secrets
        logging.getLogger("camops.worker").error(
            "worker failed camera=%s error=%s: %s", config.camera, type(exc).__name__, redact(exc)
        )
        return 1

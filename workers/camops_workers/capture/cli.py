"""``camops capture --config FILE``: run one camera's capture worker from its worker contract."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

__all__ = ["configure", "main"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, metavar="FILE", help="worker contract (JSON) the operator rendered")
    parser.add_argument(
        "--grace",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="after SIGTERM, how long to let the open segment close and the queue flush (default 20)",
    )
    parser.add_argument("--no-http", action="store_true", help="do not serve /healthz, /readyz and /metrics")


def main(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from camops_workers.contract import load_config
    from camops_workers.redact import redact
    from camops_workers.runtime import run_worker

    try:
        config = load_config(args.config)
    except (OSError, ValueError, ValidationError) as exc:
        print(f"camops capture: invalid config {args.config}: {redact(exc)}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config.log_level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del frame
        logging.getLogger("camops.worker").info("signal received signal=%s camera=%s", signum, config.camera)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        return run_worker(config, stop, serve_http=not args.no_http, grace_s=args.grace)
    except Exception as exc:  # noqa: BLE001 - one redacted line instead of a traceback that may carry secrets
        logging.getLogger("camops.worker").error(
            "worker failed camera=%s error=%s: %s", config.camera, type(exc).__name__, redact(exc)
        )
        return 1

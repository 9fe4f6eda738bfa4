"""The ``camops`` command line: one entry point, one module per subcommand.

Only the chosen subcommand's module is imported, so ``camops capture`` in a
worker pod never loads kopf. A subcommand module provides
``configure(parser: argparse.ArgumentParser) -> None`` and
``main(args: argparse.Namespace) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol, cast

from camops_operator import __version__

__all__ = ["COMMANDS", "main"]

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "operator": ("camops_operator.run", "run the Kubernetes operator (kopf)"),
    "capture": ("camops_workers.capture.cli", "run one camera's capture worker from a worker contract file"),
    "drain": ("camops_workers.queue.drain_cli", "upload everything in an offline queue, then exit"),
    "queue": ("camops_workers.queue.cli", "inspect an offline queue (stats) or re-arm failed items (retry)"),
    "retention": ("camops_operator.retention_cli", "delete old objects by age and quota, archive first"),
    "stats": ("camops_workers.retention.stats_cli", "summarise what a bucket or folder stores, by camera and age"),
    "local": ("camops_operator.local.cli", "run Camera manifests on this machine, no cluster (try --demo)"),
    "console": ("camops_operator.console.cli", "serve the read-only web console (wall, camera pages) in a cluster"),
    "crds": ("camops_operator.crds_cli", "write the CRDs generated from the API models (or --check them)"),
}


class _Command(Protocol):
    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def main(self, args: argparse.Namespace) -> int: ...


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="camops",
        description="camops runs fleets of IP cameras: snapshots, segments, a durable queue and retention.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n" + "\n".join(f"  {name:<10} {help_}" for name, (_, help_) in COMMANDS.items()),
    )
    parser.add_argument("--version", action="version", version=f"camops {__version__}")
    parser.add_argument("command", nargs="?", choices=sorted(COMMANDS), metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if not args_in or args_in[0].startswith("-"):
        top = _top_parser()
        top.parse_args(args_in)
        top.print_help()
        return 0 if not args_in else 2
    name, rest = args_in[0], args_in[1:]
    if name not in COMMANDS:
        _top_parser().error(f"unknown command {name!r}; choose from: {', '.join(COMMANDS)}")
    module_name, help_ = COMMANDS[name]
    try:
        module = cast(_Command, importlib.import_module(module_name))
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            print(f"camops {name}: not available in this build ({exc.name} missing)", file=sys.stderr)
            return 2
        raise
    parser = argparse.ArgumentParser(prog=f"camops {name}", description=help_)
    module.configure(parser)
    try:
        return module.main(parser.parse_args(rest))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

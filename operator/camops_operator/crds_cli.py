"""``camops crds``: write the generated CRDs, or ``--check`` that the committed ones are fresh."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from camops_operator import crdgen


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=Path, default=Path("crds"), help="output folder (default: crds)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the files differ from the models")


def main(args: argparse.Namespace) -> int:
    if args.check:
        stale = crdgen.check(args.dir)
        for name in stale:
            print(f"stale: {name} (run `make crds` and commit the result)", file=sys.stderr)
        return 1 if stale else 0
    for path in crdgen.write(args.dir):
        print(f"wrote {path}")
    return 0

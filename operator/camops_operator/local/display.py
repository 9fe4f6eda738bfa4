"""The terminal side of the status lines: redraw in place on a terminal, print periodically otherwise."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from typing import TextIO

__all__ = ["LiveDisplay"]

_UP = "\x1b[{}F"  # cursor to the start of the line n lines up
_CLEAR = "\x1b[2K"


class LiveDisplay:
    """Shows the latest block of lines.

    On a terminal the block is redrawn in place (no scrolling wall of text); in a log
    file or a pipe a timestamped block is printed every ``every_s`` seconds, so the
    output stays readable afterwards. Lines passed as ``when_changed`` (the retention
    policies' next and last runs) end the block on a terminal; off a terminal they are
    printed once, and again only when they change.
    """

    def __init__(self, out: TextIO, *, tty: bool | None = None, every_s: float = 5.0) -> None:
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self.every_s = every_s
        self._drawn = 0
        self._last_print: float | None = None
        self._last_changed: tuple[str, ...] | None = None

    def width(self) -> int | None:
        return shutil.get_terminal_size((120, 24)).columns - 1 if self.tty else None

    def show(self, lines: Sequence[str], *, now_s: float, stamp: str, when_changed: Sequence[str] = ()) -> None:
        if self.tty:
            lines = [*lines, *when_changed]
            parts = [_UP.format(self._drawn)] if self._drawn else []
            parts += [f"{_CLEAR}{line}\n" for line in lines]
            # a block that shrank leaves old lines below: clear them
            parts += [f"{_CLEAR}\n" for _ in range(self._drawn - len(lines))]
            self.out.write("".join(parts))
            self.out.flush()
            self._drawn = max(len(lines), self._drawn)
            return
        changed = tuple(when_changed)
        if changed != self._last_changed:
            self._last_changed = changed
            self.out.write("".join(f"[{stamp}] {line}\n" for line in changed))
            self.out.flush()
        if self._last_print is not None and now_s - self._last_print < self.every_s:
            return
        self._last_print = now_s
        self.out.write("".join(f"[{stamp}] {line}\n" for line in lines))
        self.out.flush()

    def finish(self, lines: Sequence[str], *, stamp: str) -> None:
        """Show the final state once more (always, also off a terminal), then leave the block alone."""
        if self.tty:
            self.show(lines, now_s=0.0, stamp=stamp)
        else:
            self.out.write("".join(f"[{stamp}] {line}\n" for line in lines))
            self.out.flush()
        self._drawn = 0

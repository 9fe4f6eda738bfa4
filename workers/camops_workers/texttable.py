"""Plain-text tables for the command line: a title, a header, a rule, and aligned rows."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["render_table"]


def render_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], *, left: int) -> str:
    """The table as lines: the first ``left`` columns left-aligned, the rest right-aligned (numbers)."""
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def fmt(row: Sequence[str]) -> str:
        cells = zip(row, widths, strict=True)
        return "  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(cells))

    return "\n".join([title, fmt(headers), fmt(["-" * w for w in widths]), *(fmt(row) for row in rows)])

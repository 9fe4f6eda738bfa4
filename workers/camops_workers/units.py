"""Kubernetes-style durations ("500ms", "10s", "5m", "7d") and quantities ("2Gi").

Pure parsing shared by the API models, the worker contract and every CLI flag.
Errors are ``ValueError`` with a message a user can act on.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = [
    "DURATION_PATTERN",
    "QUANTITY_PATTERN",
    "format_bytes",
    "format_duration",
    "format_time",
    "parse_duration",
    "parse_quantity",
]

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)")
#: Regular expression the CRD schema uses for every duration field.
DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$"

_QUANTITY_SUFFIXES = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
}
#: Regular expression the CRD schema uses for every byte quantity field.
QUANTITY_PATTERN = r"^[0-9]+(\.[0-9]+)?(k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$"
_QUANTITY = re.compile(QUANTITY_PATTERN)


def parse_duration(text: str) -> float:
    """Return the number of seconds in ``text`` ("1h30m" -> 5400.0).

    >>> parse_duration("500ms")
    0.5
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"invalid duration {text!r}: expected a number with a unit such as 500ms, 10s, 5m, 2h or 7d")
    raw = text.strip()
    pos = 0
    total = 0.0
    for match in _DURATION_PART.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(raw) or pos == 0:
        raise ValueError(f"invalid duration {text!r}: expected a number with a unit such as 500ms, 10s, 5m, 2h or 7d")
    return total


def format_duration(seconds: float) -> str:
    """Return the shortest exact duration string for ``seconds`` (5400 -> "1h30m")."""
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    millis = round(seconds * 1000)
    if millis == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_quantity(text: str | int) -> int:
    """Return the number of bytes in a Kubernetes quantity ("2Gi" -> 2147483648)."""
    if isinstance(text, bool):
        raise ValueError(f"invalid quantity {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"invalid quantity {text!r}: must not be negative")
        return text
    match = _QUANTITY.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"invalid quantity {text!r}: expected a number with an optional unit such as 500Mi, 2Gi or 10G"
        )
    suffix = match.group(2) or ""
    number = text.strip()[: len(text.strip()) - len(suffix)]
    return int(float(number) * _QUANTITY_SUFFIXES[suffix])


def format_bytes(size: float) -> str:
    """Human-readable binary size (1536 -> "1.5 KiB")."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_time(moment: datetime) -> str:
    """RFC 3339, UTC, millisecond precision, ``Z`` suffix."""
    when = moment.astimezone(UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}Z"

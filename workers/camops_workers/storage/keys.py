"""Object key layout: pure functions shared by capture, the queue, stores and retention.

Layouts (``prefix`` may be empty):

- ``dated``: ``<prefix>/<camera>/<YYYY-MM>/<DD>/<HHMMSS.mmm>.<ext>`` plus
  ``<prefix>/<camera>/latest.jpg`` for the newest snapshot;
- every layout: ``<prefix>/<camera>/latest.thumb.jpg``, a small copy of the newest snapshot
  (about 320 px wide) for dashboards such as the console's wall;
- ``latest``: one object per camera and kind, overwritten (``<prefix>/<camera>/latest.<ext>``);
- ``flat``: ``<prefix>/<camera>/<YYYYMMDDTHHMMSS.mmmZ>.<ext>``.

Times are UTC. Names and prefixes are sanitised so no key can leave its prefix.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum

__all__ = [
    "LATEST_SNAPSHOT_NAME",
    "LATEST_THUMBNAIL_NAME",
    "MAX_KEY_BYTES",
    "Layout",
    "camera_prefix",
    "check_key",
    "key_time",
    "latest_key",
    "object_key",
    "sanitize_name",
    "sanitize_prefix",
    "thumbnail_key",
]

LATEST_SNAPSHOT_NAME = "latest.jpg"
LATEST_THUMBNAIL_NAME = "latest.thumb.jpg"


class Layout(StrEnum):
    DATED = "dated"
    LATEST = "latest"
    FLAT = "flat"


_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def sanitize_name(name: str) -> str:
    """Validate one key segment (a camera name): no slashes, dots-only names or control characters."""
    if not isinstance(name, str) or not _NAME_OK.match(name) or name in {".", ".."} or _CONTROL.search(name):
        raise ValueError(
            f"invalid name {name!r}: use letters, digits, '.', '_' and '-', starting with a letter or digit"
        )
    return name


def sanitize_prefix(prefix: str) -> str:
    """Normalise a key prefix: strip outer slashes; reject '..', empty segments and control characters."""
    if _CONTROL.search(prefix):
        raise ValueError(f"invalid prefix {prefix!r}: control characters are not allowed")
    stripped = prefix.strip("/")
    if not stripped:
        return ""
    for segment in stripped.split("/"):
        if segment in {"", ".", ".."} or "\\" in segment:
            raise ValueError(f"invalid prefix {prefix!r}: segments may not be empty, '.' or '..'")
    return stripped


#: S3's limit on the UTF-8 length of a key.
MAX_KEY_BYTES = 1024


def check_key(key: str) -> str:
    """Validate a full object key before a store touches it (ValueError when it could escape or is invalid).

    Rejects empty keys, leading or doubled slashes, '.'/'..' segments, backslashes, control
    characters and keys longer than S3 allows, so a key maps to exactly one file below a local root.
    """
    if not isinstance(key, str) or not key or key.startswith("/") or key.endswith("/"):
        raise ValueError(f"invalid key {key!r}: must be a non-empty relative path")
    if _CONTROL.search(key) or "\\" in key:
        raise ValueError(f"invalid key {key!r}: control characters and backslashes are not allowed")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise ValueError(f"invalid key {key[:40]!r}...: longer than {MAX_KEY_BYTES} bytes")
    for segment in key.split("/"):
        if segment in {"", ".", ".."}:
            raise ValueError(f"invalid key {key!r}: segments may not be empty, '.' or '..'")
    return key


def camera_prefix(prefix: str, camera: str) -> str:
    """``<prefix>/<camera>/`` — every object of the camera lives under it (trailing slash included)."""
    clean = sanitize_prefix(prefix)
    name = sanitize_name(camera)
    return f"{clean}/{name}/" if clean else f"{name}/"


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("capture times must be timezone-aware")
    return moment.astimezone(UTC)


def object_key(layout: Layout | str, prefix: str, camera: str, captured_at: datetime, ext: str) -> str:
    """The deterministic key of one capture. The same inputs always give the same key."""
    if not re.fullmatch(r"[a-z0-9]{1,8}", ext):
        raise ValueError(f"invalid extension {ext!r}")
    base = camera_prefix(prefix, camera)
    when = _utc(captured_at)
    millis = when.microsecond // 1000
    match Layout(layout):
        case Layout.DATED:
            return f"{base}{when:%Y-%m}/{when:%d}/{when:%H%M%S}.{millis:03d}.{ext}"
        case Layout.LATEST:
            return f"{base}latest.{ext}"
        case Layout.FLAT:
            return f"{base}{when:%Y%m%dT%H%M%S}.{millis:03d}Z.{ext}"


def latest_key(prefix: str, camera: str) -> str:
    """The key of the camera's newest snapshot, kept beside the dated objects."""
    return f"{camera_prefix(prefix, camera)}{LATEST_SNAPSHOT_NAME}"


def thumbnail_key(prefix: str, camera: str) -> str:
    """The key of the small copy of the camera's newest snapshot (every layout)."""
    return f"{camera_prefix(prefix, camera)}{LATEST_THUMBNAIL_NAME}"


_DATED = re.compile(r"(\d{4})-(\d{2})/(\d{2})/(\d{2})(\d{2})(\d{2})\.(\d{3})\.[a-z0-9]+(?:\.json)?$")
_FLAT = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z\.[a-z0-9]+(?:\.json)?$")


def key_time(key: str) -> datetime | None:
    """The capture time a ``dated`` or ``flat`` key encodes, or None (``latest.*`` and foreign keys)."""
    for pattern in (_DATED, _FLAT):
        match = pattern.search(key)
        if match:
            year, month, day, hour, minute, second, millis = (int(g) for g in match.groups())
            try:
                return datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=UTC)
            except ValueError:
                return None
    return None

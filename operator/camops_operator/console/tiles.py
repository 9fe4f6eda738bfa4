"""What a tile on the wall shows, and which tiles come first: pure functions of a camera's state.

A cluster Camera (its JSON, as the watch delivers it) or a local runner's view becomes a
:class:`Tile`; :func:`arrange` sorts broken cameras first and applies the wall's filters.
No I/O and no clock: ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = [
    "HEALTHY_PICTURES",
    "Health",
    "Tile",
    "arrange",
    "condition_words",
    "parse_time",
    "picture_state",
    "tile_from_camera",
]

#: Picture-health states that are not a problem (status.capture.picture, when the worker reports it).
HEALTHY_PICTURES = {"", "healthy", "ok", "unknown", "learning"}


class Health(StrEnum):
    """The wall's filter states, in the order the wall shows them."""

    BROKEN = "broken"
    PENDING = "pending"
    PAUSED = "paused"
    OK = "ok"


_ORDER = {Health.BROKEN: 0, Health.PENDING: 1, Health.PAUSED: 2, Health.OK: 3}


class Tile(BaseModel):
    """One camera on the wall (also what the live updates send)."""

    model_config = ConfigDict(frozen=True)

    namespace: str
    name: str
    labels: dict[str, str] = {}
    phase: str = "Pending"
    health: Health = Health.PENDING
    picture: str | None = None
    last_snapshot_at: datetime | None = None
    queue_depth: int | None = None
    message: str | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def parse_time(text: object) -> datetime | None:
    """An RFC 3339 time from the API (``...Z``), or None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def picture_state(capture: Mapping[str, Any] | None) -> str | None:
    """``status.capture.picture`` as one word: a string, or the ``state`` of an object; None when absent."""
    if not capture:
        return None
    value = capture.get("picture")
    if isinstance(value, Mapping):
        value = value.get("state") or value.get("status")
    return str(value) if value else None


def _conditions(status: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for cond in status.get("conditions") or []:
        if isinstance(cond, Mapping) and isinstance(cond.get("type"), str):
            out[cond["type"]] = cond
    return out


def _health(phase: str, conditions: Mapping[str, Mapping[str, Any]], picture: str | None, connected: object) -> Health:
    if phase == "Paused":
        return Health.PAUSED
    if phase in {"Failed", "Degraded"} or connected is False:
        return Health.BROKEN
    if picture is not None and picture.lower() not in HEALTHY_PICTURES:
        return Health.BROKEN
    if conditions.get("PictureHealthy", {}).get("status") == "False":
        return Health.BROKEN
    return Health.OK if phase == "Running" else Health.PENDING


def _problem(conditions: Mapping[str, Mapping[str, Any]], capture: Mapping[str, Any]) -> str | None:
    picture = capture.get("picture")
    if isinstance(picture, Mapping) and str(picture.get("state", "")).lower() not in HEALTHY_PICTURES:
        return str(picture.get("message") or f"picture {picture.get('state')}")
    for cond in conditions.values():
        if cond.get("type") != "Ready" and cond.get("status") == "False":
            return f"{cond.get('type')}: {cond.get('message') or cond.get('reason') or 'not true'}"
    error = capture.get("lastError")
    return str(error) if error else None


def tile_from_camera(obj: Mapping[str, Any]) -> Tile:
    """A tile from a Camera as the API returns it (unknown or missing status fields tolerated)."""
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    capture = status.get("capture") or {}
    conditions = _conditions(status)
    phase = str(status.get("phase") or "Pending")
    picture = picture_state(capture)
    health = _health(phase, conditions, picture, capture.get("sourceConnected"))
    depth = capture.get("queueDepth")
    return Tile(
        namespace=str(meta.get("namespace") or "default"),
        name=str(meta.get("name") or ""),
        labels={str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
        phase=phase,
        health=health,
        picture=picture,
        last_snapshot_at=parse_time(capture.get("lastSnapshotTime")),
        queue_depth=depth if isinstance(depth, int) else None,
        message=_problem(conditions, capture) if health is not Health.OK else None,
    )


def condition_words(obj: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(type, "yes"/"no"/"unknown", reason, message) for each condition, Ready first."""
    conditions = list(_conditions(obj.get("status") or {}).values())
    conditions.sort(key=lambda c: (c.get("type") != "Ready", str(c.get("type"))))
    words = {"True": "yes", "False": "no"}
    return [
        (
            str(c.get("type")),
            words.get(str(c.get("status")), "unknown"),
            str(c.get("reason") or ""),
            str(c.get("message") or ""),
        )
        for c in conditions
    ]


def _matches(tile: Tile, *, namespace: str, label: str, state: str, search: str) -> bool:
    if namespace and tile.namespace != namespace:
        return False
    if state and tile.health.value != state:
        return False
    if search and search.lower() not in tile.name.lower():
        return False
    if label:
        key, _, value = label.partition("=")
        if key not in tile.labels or (value and tile.labels[key] != value):
            return False
    return True


def arrange(
    tiles: Iterable[Tile], *, namespace: str = "", label: str = "", state: str = "", search: str = ""
) -> list[Tile]:
    """The wall's order: broken first, then pending, paused, fine; by namespace and name within each."""
    chosen = [t for t in tiles if _matches(t, namespace=namespace, label=label, state=state, search=search)]
    chosen.sort(key=lambda t: (_ORDER[t.health], t.namespace, t.name))
    return chosen


def namespaces_of(tiles: Sequence[Tile]) -> list[str]:
    return sorted({t.namespace for t in tiles})

"""Which fields camops owns on a child, and where a live child departs from them (pure).

A child's *owned fields* are exactly the fields its builder sets. The API server
adds defaults (``progressDeadlineSeconds``, ``terminationMessagePath``, ...) and
other controllers add their own labels and annotations; none of that is drift.
Drift is an owned field whose live value differs:

* a mapping: every key the desired mapping has must match in the live one; extra
  live keys are someone else's (defaults, other tools) — except under an *exact*
  section (a ConfigMap's ``data``), which camops owns whole;
* a list: the same length, and each element matched as above (``containers``,
  ``command``, ``volumes``: an added or removed element is drift);
* ``metadata.ownerReferences``: each desired reference present (other owners may be there too);
* a scalar: equal, where quantities compare by value (``0.5`` and ``500m`` are the same CPU)
  because the API server canonicalises them;
* an empty desired value (``{}``, ``[]``, ``None``) matches a missing live one (the server drops empties).

Only the sections camops writes are compared (``metadata`` labels, annotations and
owner references, then ``spec`` or ``data``); ``status`` never is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["OWNED_METADATA", "owned_fields_drift"]

#: The metadata fields camops owns (by key inside them).
OWNED_METADATA = ("labels", "annotations", "ownerReferences")
_MISSING = object()
_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_SUFFIX = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    **{s: Decimal(1000) ** (i + 1) for i, s in enumerate("kMGTPE")},
    **{f"{s}i": Decimal(1024) ** (i + 1) for i, s in enumerate("KMGTPE")},
}


def _quantity(text: str) -> Decimal | None:
    """A Kubernetes quantity's value ("500m" -> 0.5, "1Gi" -> 1073741824), or None when it is not one."""
    match = _QUANTITY.match(text.strip())
    if match is None:
        return None
    try:
        return Decimal(match.group(1)) * _SUFFIX[match.group(2) or ""]
    except InvalidOperation:
        return None


def _empty(value: Any) -> bool:
    return value is None or value in ({}, [])


def _same_scalar(want: Any, have: Any) -> bool:
    if want == have and type(want) is type(have):
        return True
    if isinstance(want, bool) or isinstance(have, bool):
        return False
    if isinstance(want, int | float) and isinstance(have, int | float):
        return float(want) == float(have)
    if isinstance(want, str) and isinstance(have, str | int | float):
        a, b = _quantity(want), _quantity(str(have))
        return a is not None and a == b
    return False


def _walk(want: Any, have: Any, path: str, exact: bool, out: list[str]) -> None:
    if have is _MISSING:
        if not _empty(want):
            out.append(path)
        return
    if isinstance(want, Mapping):
        if not isinstance(have, Mapping):
            out.append(path)
            return
        for key, value in want.items():
            _walk(value, have.get(key, _MISSING), f"{path}.{key}", exact, out)
        if exact:
            out.extend(f"{path}.{key}" for key in have if key not in want)
        return
    if isinstance(want, list):
        if not isinstance(have, list) or len(have) != len(want):
            out.append(path)
            return
        for index, (w, h) in enumerate(zip(want, have, strict=True)):
            _walk(w, h, f"{path}[{index}]", exact, out)
        return
    if not _same_scalar(want, have):
        out.append(path)


def _references(want: Iterable[Mapping[str, Any]], have: Iterable[Mapping[str, Any]], out: list[str]) -> None:
    live = {ref.get("uid"): ref for ref in have}
    for ref in want:
        found: list[str] = []
        _walk(ref, live.get(ref.get("uid"), _MISSING), "", False, found)
        if found:
            out.append(f"metadata.ownerReferences[uid={ref.get('uid')}]")


def owned_fields_drift(
    desired: Mapping[str, Any], live: Mapping[str, Any], *, exact: Iterable[str] = ("data", "binaryData")
) -> list[str]:
    """The dotted paths of owned fields whose live value differs from ``desired`` (empty: in sync).

    ``exact`` names top-level sections camops owns whole (extra live keys there are drift too).
    """
    out: list[str] = []
    want_meta = desired.get("metadata") or {}
    have_meta = live.get("metadata") or {}
    for key in ("labels", "annotations"):
        _walk(want_meta.get(key) or {}, have_meta.get(key) or {}, f"metadata.{key}", False, out)
    _references(want_meta.get("ownerReferences") or [], have_meta.get("ownerReferences") or [], out)
    exact_sections = set(exact)
    for section, value in desired.items():
        if section in {"apiVersion", "kind", "metadata", "status"}:
            continue
        _walk(value, live.get(section, _MISSING), section, section in exact_sections, out)
    for section in exact_sections - set(desired):
        if not _empty(live.get(section)):
            out.append(section)
    return out

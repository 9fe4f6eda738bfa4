"""The Kubernetes versions camops supports, as kubernetes-validate names them."""

from __future__ import annotations

from functools import cache

from kubernetes_validate.utils import all_versions

#: The oldest Kubernetes minor version camops supports.
MIN_VERSION = (1, 29)


@cache
def supported_versions() -> list[str]:
    """Every Kubernetes version kubernetes-validate ships from MIN_VERSION on ("1.29.0", ...), oldest first."""
    out = set()
    for v in all_versions():
        major, minor = (int(p) for p in v.split(".")[:2])
        if (major, minor) >= MIN_VERSION:
            out.add(f"{major}.{minor}.0")
    return sorted(out, key=lambda v: tuple(int(p) for p in v.split(".")))

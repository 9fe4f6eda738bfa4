"""The camera's MediaMTX path configuration (a ``PathConf`` of MediaMTX's control API v3).

``record_delete_after`` is what RetentionPolicies decide for recorded paths
(see :func:`retention_record_delete_after`); it wins over ``spec.mediamtx.recordDeleteAfter``.
Credentials are passed in only when the path is about to be written, never kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from camops_operator.api.camera import Camera
from camops_operator.api.retention import RetentionPolicy
from camops_operator.builders.contract import mediamtx_path_name
from camops_workers.units import parse_duration

__all__ = [
    "build_mediamtx_path",
    "comparable",
    "mediamtx_path_name",
    "retention_record_delete_after",
    "strip_userinfo",
]


def _go_duration(text: str) -> str:
    """Our duration ("7d") as a Go duration MediaMTX parses ("168h0m0s" style; whole seconds)."""
    seconds = int(parse_duration(text))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def strip_userinfo(url: str) -> str:
    """``url`` without ``user:password@``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _with_credentials(url: str, credentials: tuple[str, str] | None) -> str:
    if not credentials:
        return url
    parts = urlsplit(url)
    user, password = (quote(c, safe="") for c in credentials)
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{parts.netloc}"))


def retention_record_delete_after(camera: Camera, policies: Iterable[RetentionPolicy]) -> str | None:
    """The shortest ``maxAge`` of the policies in the camera's namespace that select it (recorded paths only)."""
    if not camera.spec.mediamtx.record:
        return None
    ages = [
        p.spec.max_age
        for p in policies
        if p.metadata.namespace == camera.namespace and p.spec.selector.matches(dict(camera.metadata.labels))
    ]
    return min(ages, key=parse_duration) if ages else None


def build_mediamtx_path(
    camera: Camera,
    *,
    record_delete_after: str | None = None,
    credentials: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The PathConf for the camera's path (name from :func:`mediamtx_path_name`)."""
    spec = camera.spec.mediamtx
    conf: dict[str, Any] = {
        "name": mediamtx_path_name(camera),
        "source": _with_credentials(camera.spec.source.url, credentials),
        "sourceOnDemand": spec.source_on_demand,
        "record": spec.record,
    }
    if camera.spec.source.url.startswith(("rtsp://", "rtsps://")):
        conf["rtspTransport"] = camera.spec.source.transport
    delete_after = record_delete_after or spec.record_delete_after
    if spec.record and delete_after:
        conf["recordDeleteAfter"] = _go_duration(delete_after)
    return conf


def comparable(conf: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """The fields of ``conf`` we manage, credentials stripped, for drift comparison."""
    out = {k: conf.get(k) for k in fields}
    source = out.get("source")
    if isinstance(source, str):
        out["source"] = strip_userinfo(source)
    if out.get("recordDeleteAfter") is not None and "record" in out and not out["record"]:
        out.pop("recordDeleteAfter")
    return out

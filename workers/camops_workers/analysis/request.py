"""The request camops sends to an inference endpoint (stable; documented in docs/analysis.md).

One ``POST`` per analysed frame to the configured URL::

    POST <endpoint>
    Content-Type: image/jpeg
    Accept: application/json
    X-Camops-Camera: <camera name>
    X-Camops-Namespace: <namespace>
    X-Camops-Captured-At: <capture time, RFC 3339 UTC with milliseconds, e.g. 2026-01-02T03:04:05.678Z>
    X-Camops-Key: <object key of the stored snapshot, e.g. site-a/door/2026-01/02/030405.678.jpg>
    Authorization: Bearer <token>          (only with a bearer token Secret)
    <configured extra headers>

    <JPEG bytes: the stored snapshot, or a re-encoded copy when quality/max width are set>

The endpoint answers ``2xx`` with a JSON body (stored as ``<key>.json``), or ``204`` when it
has nothing to say (nothing stored). Anything else counts as a failed request.

The JPEG is the body itself (no multipart) so any HTTP server can read it with no form parser,
and the metadata travels in headers a proxy can route or log on.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from camops_workers.units import format_time

__all__ = [
    "HEADER_CAMERA",
    "HEADER_CAPTURED_AT",
    "HEADER_KEY",
    "HEADER_NAMESPACE",
    "format_time",
    "request_headers",
]

HEADER_CAMERA = "X-Camops-Camera"
HEADER_NAMESPACE = "X-Camops-Namespace"
HEADER_CAPTURED_AT = "X-Camops-Captured-At"
HEADER_KEY = "X-Camops-Key"


def request_headers(
    *,
    camera: str,
    namespace: str,
    key: str,
    captured_at: datetime,
    extra: Mapping[str, str] | None = None,
    token: str | None = None,
) -> dict[str, str]:
    """The headers of one analysis request (pure). Our own headers win over configured extras."""
    headers = dict(extra or {})
    headers.update(
        {
            "Content-Type": "image/jpeg",
            "Accept": "application/json",
            HEADER_CAMERA: camera,
            HEADER_NAMESPACE: namespace,
            HEADER_CAPTURED_AT: format_time(captured_at),
            HEADER_KEY: key,
        }
    )
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers

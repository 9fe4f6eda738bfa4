"""The one place credentials are scrubbed from text bound for logs, status and metrics."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["redact", "redact_url"]

_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
_SECRET_PARAMS = re.compile(
    r"(?i)(?P<key>(?:password|passwd|pwd|secret|token|access_?key|secret_?key|signature|x-amz-[a-z-]+|auth)=)[^&\s]+"
)
_AUTH_HEADER = re.compile(r"(?i)(?P<key>authorization:\s*(?:basic|bearer|digest)\s+)[^\s,]+")


def redact_url(url: str) -> str:
    """Drop the userinfo and secret query parameters from a URL."""
    return redact(url)


def redact(text: object, secrets: Iterable[str] = ()) -> str:
    """Return ``str(text)`` with URL credentials, secret parameters and known secret values hidden."""
    out = str(text)
    for value in secrets:
        if value and len(value) >= 3:
            out = out.replace(value, "***")
    out = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}***@", out)
    out = _SECRET_PARAMS.sub(lambda m: f"{m.group('key')}***", out)
    return _AUTH_HEADER.sub(lambda m: f"{m.group('key')}***", out)

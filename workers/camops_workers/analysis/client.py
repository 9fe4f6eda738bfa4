"""The only module that talks to an inference endpoint: one keep-alive HTTP client per camera."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import httpx

from camops_workers.redact import redact

__all__ = ["Answer", "InferenceClient", "Outcome"]

# httpx logs every request with its full URL at INFO: one line per frame, and a URL may carry a
# token in its query. Our own lines (per breaker transition, redacted) say what matters.
logging.getLogger("httpx").setLevel(logging.WARNING)


class Outcome(StrEnum):
    """How one request ended (the ``result`` label of the requests metric)."""

    OK = "ok"
    EMPTY = "empty"  # 204 or an empty 2xx body: reachable, nothing to store
    INVALID = "invalid_response"  # 2xx but not JSON
    HTTP_ERROR = "http_error"
    TIMEOUT = "timeout"
    CONNECTION = "connection_error"

    @property
    def reachable(self) -> bool:
        """Whether the endpoint answered like an inference service (the breaker's success)."""
        return self in {Outcome.OK, Outcome.EMPTY, Outcome.INVALID}


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    status: int | None
    body: bytes
    latency_s: float
    error: str | None = None  # redacted


class InferenceClient:
    """POSTs frames; never raises for network or HTTP errors (they become an ``Answer``)."""

    def __init__(self, endpoint: str, *, timeout_s: float, max_connections: int, secrets: Sequence[str] = ()) -> None:
        self.endpoint = endpoint
        self._secrets = tuple(secrets)
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"User-Agent": "camops-analysis/1"},
            follow_redirects=False,
        )

    def post(self, body: bytes, headers: Mapping[str, str], secrets: Sequence[str] = ()) -> Answer:
        started = time.monotonic()
        hidden = (*self._secrets, *secrets)
        try:
            response = self._client.post(self.endpoint, content=body, headers=dict(headers))
        except httpx.TimeoutException as exc:
            error = redact(f"{_describe(exc)} from {self.endpoint}", hidden)
            return Answer(Outcome.TIMEOUT, None, b"", time.monotonic() - started, error)
        except httpx.HTTPError as exc:
            error = redact(f"{_describe(exc)} from {self.endpoint}", hidden)
            return Answer(Outcome.CONNECTION, None, b"", time.monotonic() - started, error)
        latency = time.monotonic() - started
        content = response.content
        if not 200 <= response.status_code < 300:
            reason = f"HTTP {response.status_code} from {redact(self.endpoint, hidden)}"
            return Answer(Outcome.HTTP_ERROR, response.status_code, b"", latency, reason)
        if response.status_code == 204 or not content.strip():
            return Answer(Outcome.EMPTY, response.status_code, b"", latency)
        try:
            json.loads(content)
        except ValueError:
            return Answer(Outcome.INVALID, response.status_code, b"", latency, "the answer is not JSON")
        return Answer(Outcome.OK, response.status_code, content, latency)

    def close(self) -> None:
        self._client.close()


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

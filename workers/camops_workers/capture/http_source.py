"""HTTP(S) JPEG snapshot cameras: one keep-alive session, basic or digest auth, validated bodies.

The only module that talks HTTP to a camera. A body is kept only when it is one complete
JPEG (``jpeg.inspect_jpeg``); an HTML login page, an empty or truncated body, a 401 or a 5xx
is a ``SnapshotError`` with a short ``reason`` the worker counts — never an object.
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Generator
from dataclasses import dataclass

import httpx

from camops_workers.capture.jpeg import JpegError, JpegInfo, inspect_jpeg
from camops_workers.redact import redact

__all__ = ["ChallengeAuth", "HttpSnapshotSource", "Snapshot", "SnapshotError", "describe_refusal"]


class SnapshotError(Exception):
    """One failed fetch. ``reason`` is a fixed word (metric label); the message is redacted."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Snapshot:
    data: bytes
    info: JpegInfo


def _basic_value(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def describe_refusal(status: int, challenge: str | None, sent: str | None) -> str:
    """What a camera that refused us answered, in words a person can act on; never a credential.

    ``challenge`` is its ``WWW-Authenticate`` header (None when absent), ``sent`` the scheme of the
    credentials that went with the request ("Basic", "Digest" or None).
    """
    if challenge:
        scheme = challenge.split(" ", 1)[0]
        realm = re.search(r'realm="([^"]{0,64})"', challenge)
        said = f"a {scheme} challenge" + (f" (realm {realm.group(1)!r})" if realm else "")
    else:
        said = "no WWW-Authenticate challenge"
    what = f"camera answered {status} with {said}"
    if status == 403:
        return f"{what}: access denied to these credentials" if sent else f"{what}: access denied"
    if sent:
        return f"{what} to {sent} credentials: check the credentials"
    return f"{what}; no credentials are configured"


class ChallengeAuth(httpx.Auth):
    """Answers the camera's challenge (Basic or Digest), then keeps to the scheme that worked.

    Many cameras answer 401 without any ``WWW-Authenticate`` challenge: to those Basic is sent
    (the only scheme that needs no challenge) and kept, so every later request carries it up
    front. Over HTTPS Basic goes with the very first request; over plain HTTP the first request
    goes without, so a Digest camera never sees the password in Basic form on the wire.
    """

    def __init__(self, username: str, password: str, *, preemptive: bool = False) -> None:
        self._basic = _basic_value(username, password)
        self._digest = httpx.DigestAuth(username, password)
        self._scheme: str | None = "basic" if preemptive else None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._scheme == "digest":
            yield from self._digest.auth_flow(request)
            return
        if self._scheme == "basic":
            request.headers["Authorization"] = self._basic
        response = yield request
        if response.status_code != 401:
            return
        challenge = response.headers.get("www-authenticate", "")
        scheme = challenge.split(" ", 1)[0].lower()
        if scheme == "digest":
            self._scheme = "digest"
            request.headers.pop("Authorization", None)
            flow = self._digest.auth_flow(request)
            next(flow)  # the request we already sent
            try:
                retry = flow.send(response)
            except StopIteration:
                return
            answer = yield retry
            with contextlib.suppress(StopIteration):
                flow.send(answer)
        elif scheme in {"basic", ""} and "Authorization" not in request.headers:
            self._scheme = "basic"
            request.headers["Authorization"] = self._basic
            yield request


class HttpSnapshotSource:
    """Fetches JPEG snapshots from one URL over a single keep-alive ``httpx.Client``."""

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
        max_bytes: int = 32 * 1024 * 1024,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self._secrets = [s for s in (username, password) if s]
        auth = ChallengeAuth(username, password or "", preemptive=url.startswith("https://")) if username else None
        self._max_bytes = max_bytes
        self._client = httpx.Client(
            auth=auth,
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            headers={"Accept": "image/jpeg"},
            transport=transport,
        )

    def fetch(self) -> Snapshot:
        """One snapshot, validated; raises ``SnapshotError``."""
        try:
            with self._client.stream("GET", self.url) as response:
                status = response.status_code
                if status in {401, 403}:
                    sent = response.request.headers.get("Authorization", "").split(" ", 1)[0] or None
                    message = describe_refusal(status, response.headers.get("www-authenticate"), sent)
                    raise SnapshotError("unauthorized", redact(message, self._secrets))
                if status >= 500:
                    raise SnapshotError("server_error", f"camera answered {status}")
                if status != 200:
                    raise SnapshotError("http_status", f"camera answered {status}")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise SnapshotError("too_large", f"body larger than {self._max_bytes} bytes")
                    chunks.append(chunk)
        except httpx.TimeoutException as exc:
            raise SnapshotError("timeout", redact(f"camera timed out: {exc}", self._secrets)) from None
        except httpx.RemoteProtocolError as exc:
            raise SnapshotError("truncated", redact(f"body cut short: {exc}", self._secrets)) from None
        except httpx.HTTPError as exc:
            raise SnapshotError("connect", redact(f"camera unreachable: {exc}", self._secrets)) from None
        data = b"".join(chunks)
        if not data:
            raise SnapshotError("empty", "camera answered an empty body")
        try:
            info = inspect_jpeg(data)
        except JpegError as exc:
            text = str(exc)
            reason = "html" if "HTML" in text else "truncated" if "truncated" in text else "not_jpeg"
            raise SnapshotError(reason, text) from None
        return Snapshot(data=data, info=info)

    def close(self) -> None:
        self._client.close()

"""Video sources read through PyAV: RTSP/RTSPS cameras and ``file://`` clips (looped in real time).

The only module that opens a camera stream. Credentials are read from their files or
environment variables and put into the URL only for ``av.open``; every error leaving this
module is redacted (URL userinfo and the secret values themselves), so nothing above it can
log a password by accident.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from camops_workers.redact import redact

__all__ = ["SourceError", "StreamSource", "url_with_credentials"]


class SourceError(Exception):
    """The source could not be opened or stopped delivering; the message is already redacted."""


def url_with_credentials(url: str, username: str | None, password: str | None) -> str:
    """``url`` with ``username:password@`` put in (percent-encoded); unchanged without a username."""
    if not username:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = quote(username, safe="")
    if password is not None:
        netloc += ":" + quote(password, safe="")
    netloc += "@" + host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True, slots=True)
class StreamInfo:
    codec: str
    width: int
    height: int
    time_base: Any


class StreamSource:
    """One open PyAV session on a video stream; iterate ``packets(stop)`` for its video packets.

    ``file://`` sources are paced to real time and loop forever (timestamps keep increasing
    across loops), so a clip behaves like a live camera in local mode and tests.
    """

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        transport: str = "tcp",
        connect_timeout_s: float = 10.0,
        stall_timeout_s: float = 15.0,
    ) -> None:
        self.url = url
        self._username = username
        self._password = password
        self._transport = transport
        self._connect_timeout = connect_timeout_s
        self._stall_timeout = stall_timeout_s
        self._container: Any = None
        self.stream: Any = None
        self.is_file = url.startswith("file://")

    def _error(self, what: str, exc: BaseException) -> SourceError:
        secrets = [s for s in (self._username, self._password) if s]
        return SourceError(redact(f"{what}: {exc}", secrets))

    def open(self) -> StreamInfo:
        """Open the session and find the video stream; raises ``SourceError``."""
        import av

        if self.is_file:
            target = urlsplit(self.url).path
            options: dict[str, str] = {}
        else:
            target = url_with_credentials(self.url, self._username, self._password)
            # Socket I/O timeout in microseconds (PyAV's own timeout bounds every blocking call too).
            # No stream analysis beyond the SDP: the codec and size come from sprop-parameter-sets or
            # the first in-band SPS, so opening takes a handshake instead of ~1 s of decoded frames.
            options = {
                "rtsp_transport": self._transport,
                "timeout": str(int(self._stall_timeout * 1e6)),
                "threads": "1",
                "analyzeduration": "0",
                "probesize": "32768",
            }
        try:
            self._container = av.open(target, options=options, timeout=(self._connect_timeout, self._stall_timeout))
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise self._error("cannot open source", exc) from None
        if not self._container.streams.video:
            self.close()
            raise SourceError("source has no video stream")
        stream = self._container.streams.video[0]
        for other in self._container.streams:
            if other is not stream:
                other.discard = "all"
        ctx = stream.codec_context
        ctx.thread_count = 1  # one picture at a time; frame threads would delay gated output
        self.stream = stream
        return StreamInfo(codec=stream.codec.name, width=ctx.width, height=ctx.height, time_base=stream.time_base)

    def packets(self, stop: threading.Event) -> Iterator[Any]:  # noqa: PLR0912 - one read loop, pacing inline
        """Video packets until ``stop`` is set; raises ``SourceError`` on read failure or end of stream."""
        import av

        if self._container is None or self.stream is None:
            raise SourceError("source is not open")
        offset = 0
        tb = float(self.stream.time_base or 0)
        loop_start_wall = time.monotonic()
        first_ts: int | None = None
        last_ts = 0
        step = 0
        while not stop.is_set():
            try:
                for packet in self._container.demux(self.stream):
                    if stop.is_set():
                        return
                    if packet.size == 0:
                        continue
                    if self.is_file and packet.pts is not None:
                        if first_ts is None:
                            first_ts = packet.pts
                        if packet.pts > last_ts:
                            step = packet.pts - last_ts if last_ts else step
                            last_ts = packet.pts
                        due = loop_start_wall + (packet.pts - first_ts) * tb
                        delay = due - time.monotonic()
                        if delay > 0 and stop.wait(delay):
                            return
                        packet.pts += offset
                        if packet.dts is not None:
                            packet.dts += offset
                    yield packet
            except (av.FFmpegError, OSError) as exc:
                raise self._error("stream read failed", exc) from None
            if not self.is_file:
                raise SourceError("stream ended")
            if first_ts is None:
                raise SourceError("clip holds no video packets")
            # Loop the clip: continue its timestamps where the last loop ended.
            span = last_ts - first_ts + max(step, 1)
            offset += span
            loop_start_wall += span * tb
            last_ts = 0
            try:
                self._container.seek(0)
            except (av.FFmpegError, OSError) as exc:
                raise self._error("cannot loop clip", exc) from None

    def close(self) -> None:
        container, self._container = self._container, None
        self.stream = None
        if container is not None:
            with contextlib.suppress(Exception):  # closing a broken session must not mask why it broke
                container.close()

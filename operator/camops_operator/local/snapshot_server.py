"""The demo's HTTP snapshot camera: answers ``GET /snapshot.jpg`` with a fresh JPEG showing the time.

It behaves like the cheap IP cameras camops meets in the field: one JPEG per request,
keep-alive, optional HTTP basic authentication (401 and an HTML page without it).
Bound to 127.0.0.1 on a free port; nothing outside the machine can reach it.
"""

from __future__ import annotations

import base64
import hmac
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from camops_operator.local.media import render_jpeg

__all__ = ["SnapshotCamera"]

SNAPSHOT_PATH = "/snapshot.jpg"
_LOGIN_PAGE = b"<!DOCTYPE html><html><head><title>Login</title></head><body>Please log in.</body></html>"


class SnapshotCamera:
    """A running HTTP snapshot camera (``start()``/``stop()``, or a ``with`` block)."""

    def __init__(
        self,
        *,
        label: str = "camops demo http camera",
        credentials: tuple[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.label = label
        self.credentials = credentials
        self.clock = clock
        self.requests = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = self._server.server_address[0]
        return f"http://{host!s}:{self.port}{SNAPSHOT_PATH}"

    def _authorized(self, header: str | None) -> bool:
        if self.credentials is None:
            return True
        if not header or not header.lower().startswith("basic "):
            return False
        expected = base64.b64encode(":".join(self.credentials).encode()).decode()
        return hmac.compare_digest(header.split(" ", 1)[1].strip(), expected)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        camera = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real cameras do

            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] != SNAPSHOT_PATH:
                    self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")
                    return
                if not camera._authorized(self.headers.get("Authorization")):
                    self._send(
                        HTTPStatus.UNAUTHORIZED, _LOGIN_PAGE, "text/html", {"WWW-Authenticate": 'Basic realm="cam"'}
                    )
                    return
                with camera._lock:
                    camera.requests += 1
                self._send(HTTPStatus.OK, render_jpeg(camera.clock(), label=camera.label), "image/jpeg")

            def _send(
                self, status: HTTPStatus, body: bytes, content_type: str, extra: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                del format, args  # quiet: the demo's status lines say what happens

        return Handler

    def start(self) -> SnapshotCamera:
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-http-camera", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SnapshotCamera:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

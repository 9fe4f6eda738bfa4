"""Fixture ``http_camera``: an HTTP JPEG snapshot camera that misbehaves on request.

``http_camera(script=[...], auth=None|"basic"|"digest", username=..., password=...)`` starts a
server on 127.0.0.1 answering ``GET /snapshot.jpg`` with the next answer of ``script`` (cycled):

- ``jpeg``: a valid JPEG (``width`` x ``height``);
- ``html``: a 200 HTML login page;
- ``truncated``: a JPEG cut in half, Content-Length matching (no EOI marker);
- ``short``: Content-Length announces the whole JPEG, the connection closes after half;
- ``empty``: a 200 with no body;
- ``401``: an authentication challenge even for right credentials;
- ``500``: a server error;
- ``picture``: the n-th ``picture`` answer is the synthetic scene of tests/servers/pictures.py at
  ``t = n`` showing ``picture=Timeline(fault, before, during)``'s fault for ``t`` in [before, before + during).

With ``auth``, requests without valid credentials get a real Basic or Digest (MD5, qop=auth)
challenge, answered independently of the script. ``challenge=False`` (with ``auth="basic"``)
answers them with a bare 401 and no ``WWW-Authenticate`` header, as many cameras do.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import simplejpeg

from tests.servers.pictures import Scene, Timeline

__all__ = ["HttpCamera", "http_camera", "make_jpeg"]

_HTML = b"<!DOCTYPE html><html><head><title>Login</title></head><body><form>user/pass</form></body></html>"


def make_jpeg(width: int = 320, height: int = 240, quality: int = 80) -> bytes:
    """A JPEG of a gradient picture (valid, decodable)."""
    ys, xs = np.mgrid[0:height, 0:width]
    image = np.stack([(xs * 255 // max(1, width - 1)), (ys * 255 // max(1, height - 1)), np.full_like(xs, 128)], -1)
    return bytes(simplejpeg.encode_jpeg(np.ascontiguousarray(image.astype(np.uint8)), quality=quality))


class HttpCamera:
    def __init__(
        self,
        script: Sequence[str] = ("jpeg",),
        *,
        auth: str | None = None,
        username: str = "admin",
        password: str = "s3cret-pass",  # noqa: S107 - a test camera's password
        width: int = 320,
        height: int = 240,
        picture: Timeline | None = None,
        challenge: bool = True,
    ) -> None:
        self.script = list(script)
        self.picture = picture or Timeline()
        self._scene = Scene(width, height)
        self.pictures = 0
        self.auth = auth
        self.challenge = challenge
        self.username = username
        self.password = password
        self.jpeg = make_jpeg(width, height)
        self.requests = 0
        self.answers: dict[str, int] = {}
        self.challenges = 0
        self.connections: set[tuple[str, int]] = set()
        self._index = 0
        self._lock = threading.Lock()
        self._realm = "camera"
        self._nonce = secrets.token_hex(8)
        camera = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                camera.connections.add(self.client_address)
                if camera.auth and not camera._authorized(self.headers.get("Authorization", "")):
                    camera.challenges += 1
                    self._challenge()
                    return
                with camera._lock:
                    camera.requests += 1
                    answer = camera.script[camera._index % len(camera.script)]
                    camera._index += 1
                    camera.answers[answer] = camera.answers.get(answer, 0) + 1
                self._answer(answer)

            def _challenge(self) -> None:
                if not camera.challenge:
                    self._send(401, b"unauthorized", "text/plain")
                    return
                if camera.auth == "digest":
                    value = f'Digest realm="{camera._realm}", nonce="{camera._nonce}", qop="auth", algorithm=MD5'
                else:
                    value = f'Basic realm="{camera._realm}"'
                self._send(401, b"unauthorized", "text/plain", extra={"WWW-Authenticate": value})

            def _answer(self, answer: str) -> None:
                jpeg = camera.jpeg
                if answer == "jpeg":
                    self._send(200, jpeg, "image/jpeg")
                elif answer == "html":
                    self._send(200, _HTML, "text/html")
                elif answer == "truncated":
                    self._send(200, jpeg[: len(jpeg) // 2], "image/jpeg")
                elif answer == "short":
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(len(jpeg)))
                    self.end_headers()
                    self.wfile.write(jpeg[: len(jpeg) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                elif answer == "empty":
                    self._send(200, b"", "image/jpeg")
                elif answer == "401":
                    self._send(401, b"unauthorized", "text/plain", extra={"WWW-Authenticate": 'Basic realm="x"'})
                elif answer == "500":
                    self._send(500, b"internal error", "text/plain")
                elif answer == "picture":
                    self._send(200, camera._next_picture(), "image/jpeg")
                else:
                    raise ValueError(answer)

            def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/snapshot.jpg"

    def _authorized(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if self.auth == "basic" and scheme.lower() == "basic":
            expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return secrets.compare_digest(value.strip(), expected)
        if self.auth == "digest" and scheme.lower() == "digest":
            fields = dict(_digest_fields(value))
            ha1 = _md5(f"{self.username}:{self._realm}:{self.password}")
            ha2 = _md5(f"GET:{fields.get('uri', '')}")
            expected = _md5(f"{ha1}:{self._nonce}:{fields.get('nc', '')}:{fields.get('cnonce', '')}:auth:{ha2}")
            return fields.get("username") == self.username and secrets.compare_digest(
                fields.get("response", ""), expected
            )
        return False

    def _next_picture(self) -> bytes:
        with self._lock:
            t = float(self.pictures)
            self.pictures += 1
            fault = self.picture.at(t)
            y = self._scene.luma(t, fault)
            u, v = self._scene.chroma(fault)
        half = (y.shape[0] // 2, y.shape[1] // 2)
        planes = np.full(half, u, np.uint8), np.full(half, v, np.uint8)
        return bytes(simplejpeg.encode_jpeg_yuv_planes(y, *planes, quality=85))

    def start(self) -> HttpCamera:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - HTTP Digest's algorithm


def _digest_fields(value: str) -> Iterator[tuple[str, str]]:
    for part in value.split(","):
        key, _, raw = part.strip().partition("=")
        yield key.strip(), raw.strip().strip('"')


@pytest.fixture
def http_camera() -> Iterator[Callable[..., HttpCamera]]:
    started: list[HttpCamera] = []

    def factory(script: Sequence[str] = ("jpeg",), **options: object) -> HttpCamera:
        camera = HttpCamera(script, **options).start()  # type: ignore[arg-type]
        started.append(camera)
        return camera

    yield factory
    for camera in started:
        camera.stop()

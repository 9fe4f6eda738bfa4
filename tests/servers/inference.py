"""An HTTP inference stand-in: answers JSON after a configurable delay, sometimes 500s or hangs.

It reads the request the way a real model server would (JPEG body, ``X-Camops-*`` headers),
checks the body is a JPEG, and answers ``{"detections": [...], "camera", "key", "bytes", "n"}``.
Knobs (change them while it runs): ``delay_s``, ``fail_every`` (every Nth request answers 500),
``hang_every`` (every Nth request never answers until the server stops), ``status`` (force one
status for every request). ``stop()``/``start()`` take it down and back up on the same port.

Runs in-process (threads) for tests; ``python -m tests.servers.inference --port N --delay 0.5``
runs it as its own process for benchmarks.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

__all__ = ["InferenceServer", "ReceivedFrame", "inference_server"]


@dataclass(frozen=True)
class ReceivedFrame:
    n: int
    headers: dict[str, str]
    size: int
    is_jpeg: bool
    received_at: float


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class InferenceServer:
    def __init__(self, port: int = 0, *, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.fail_every = 0
        self.hang_every = 0
        self.status: int | None = None
        self.frames: list[ReceivedFrame] = []
        self.concurrent = 0
        self.max_concurrent = 0
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.start()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1/detect"

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                del format, args

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with owner._lock:
                    n = len(owner.frames) + 1
                    frame = ReceivedFrame(
                        n=n,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        size=len(body),
                        is_jpeg=body[:2] == b"\xff\xd8" and body[-2:] == b"\xff\xd9",
                        received_at=time.monotonic(),
                    )
                    owner.frames.append(frame)
                    owner.concurrent += 1
                    owner.max_concurrent = max(owner.max_concurrent, owner.concurrent)
                try:
                    self._answer(n, frame)
                finally:
                    with owner._lock:
                        owner.concurrent -= 1

            def _answer(self, n: int, frame: ReceivedFrame) -> None:
                if owner.hang_every and n % owner.hang_every == 0:
                    owner._release.wait(60)
                    self.close_connection = True
                    return
                if owner.delay_s:
                    owner._release.wait(owner.delay_s)
                status = owner.status or (500 if owner.fail_every and n % owner.fail_every == 0 else 200)
                if status == 200 and not frame.is_jpeg:
                    status = 415
                payload = b""
                if status == 200:
                    answer = {
                        "camera": frame.headers.get("x-camops-camera"),
                        "key": frame.headers.get("x-camops-key"),
                        "capturedAt": frame.headers.get("x-camops-captured-at"),
                        "bytes": frame.size,
                        "n": n,
                        "detections": [{"label": "person", "score": 0.91, "box": [10, 20, 110, 220]}],
                    }
                    payload = json.dumps(answer).encode()
                elif status >= 400:
                    payload = b'{"error": "model failed"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._release.clear()
        self._httpd = _Server(("127.0.0.1", self._port), Handler)
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Take it down: the port refuses connections until ``start()``; hanging requests are released."""
        self._release.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(5)

    def count(self) -> int:
        with self._lock:
            return len(self.frames)


@pytest.fixture
def inference_server() -> Iterator[InferenceServer]:
    server = InferenceServer()
    try:
        yield server
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    server = InferenceServer(args.port, delay_s=args.delay)
    print(f"listening on {server.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()

"""The worker's probe and scrape endpoints: ``/healthz``, ``/readyz`` and ``/metrics``.

A small stdlib HTTP server on its own thread: liveness says the capture loop is not wedged,
readiness says the source delivered recently, metrics expose the default registry (queue,
uploads) plus any extra registries (the capture worker's own).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

__all__ = ["HealthServer", "Probe", "Route"]

#: A probe answers (ok, one-line reason).
Probe = Callable[[], tuple[bool, str]]
#: An extra GET endpoint answers (status, body, content type).
Route = Callable[[], tuple[int, bytes, str]]


class HealthServer:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        alive: Probe,
        ready: Probe,
        registries: Sequence[CollectorRegistry] = (),
        include_default: bool = True,
        routes: Mapping[str, Route] | None = None,
    ) -> None:
        self._alive = alive
        self._ready = ready
        self._routes = dict(routes or {})
        self._registries = ([REGISTRY] if include_default else []) + list(registries)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/healthz":
                    self._probe(server._alive)
                elif path == "/readyz":
                    self._probe(server._ready)
                elif path == "/metrics":
                    body = b"".join(generate_latest(reg) for reg in server._registries)
                    self._send(200, body, CONTENT_TYPE_LATEST)
                elif path in server._routes:
                    self._send(*server._routes[path]())
                else:
                    self._send(404, b"not found\n", "text/plain")

            def _probe(self, probe: Probe) -> None:
                try:
                    ok, reason = probe()
                except Exception as exc:  # noqa: BLE001 - a failing probe is an unhealthy answer, not a crash
                    ok, reason = False, f"probe failed: {type(exc).__name__}"
                self._send(200 if ok else 503, f"{'ok' if ok else 'fail'}: {reason}\n".encode(), "text/plain")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="camops-health", daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

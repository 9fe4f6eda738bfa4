"""A webhook receiver that records CloudEvents and checks each against the spec with the SDK's parser.

Every POST is parsed with ``cloudevents.core.bindings.http.from_http`` (binary or structured
mode, detected from the headers), which validates the required attributes and their types;
a request that does not parse is answered 400 and kept in ``invalid``. ``fail_next`` makes
the next N requests answer ``fail_status`` (503 by default, to exercise retries);
``stop()``/``start()`` take it down and bring it back on the same port.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat

__all__ = ["ReceivedEvent", "WebhookReceiver", "webhook_receiver"]


@dataclass(frozen=True)
class ReceivedEvent:
    mode: str  # "binary" or "structured"
    attributes: dict[str, Any]
    data: Any
    headers: dict[str, str]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class WebhookReceiver:
    def __init__(self) -> None:
        self.events: list[ReceivedEvent] = []
        self.invalid: list[str] = []
        self.fail_next = 0
        self.fail_status = 503
        self.requests = 0
        self._lock = threading.Lock()
        self._port = 0
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/events"

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                del format, args

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = 204
                with owner._lock:
                    owner.requests += 1
                    if owner.fail_next > 0:
                        owner.fail_next -= 1
                        status = owner.fail_status
                if status == 204:
                    try:
                        event = from_http(HTTPMessage(headers=headers, body=body), JSONFormat())
                    except Exception as exc:  # noqa: BLE001 - anything the parser rejects is a finding
                        with owner._lock:
                            owner.invalid.append(f"{type(exc).__name__}: {exc}")
                        status = 400
                    else:
                        mode = "binary" if any(k.startswith("ce-") for k in headers) else "structured"
                        received = ReceivedEvent(mode, event.get_attributes(), event.get_data(), headers)
                        with owner._lock:
                            owner.events.append(received)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._httpd = _Server(("127.0.0.1", self._port), Handler)
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(5)

    def received(self) -> list[ReceivedEvent]:
        with self._lock:
            return list(self.events)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedEvent]:
        """The events once at least ``count`` arrived (or whatever arrived by ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.received()
            if len(events) >= count:
                return events
            time.sleep(0.02)
        return self.received()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    try:
        yield receiver
    finally:
        receiver.stop()

"""A real NATS server (Debian's ``nats-server``) on a free port, and a subscriber that records messages.

The binary comes from ``CAMOPS_NATS_SERVER``, else ``nats-server`` on PATH, else
``/usr/sbin/nats-server``; scripts/system-deps.sh installs it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import nats
import pytest

__all__ = ["NatsRecorder", "NatsServer", "nats_server"]


def _binary() -> str:
    found = os.environ.get("CAMOPS_NATS_SERVER") or shutil.which("nats-server")
    if not found and os.path.exists("/usr/sbin/nats-server"):
        found = "/usr/sbin/nats-server"
    if not found:
        raise RuntimeError("nats-server not found: run scripts/system-deps.sh (apt-get install -y nats-server)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class NatsServer:
    def __init__(self) -> None:
        self.port = _free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [_binary(), "-a", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nats-server did not start")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(5)
            self._proc = None


@dataclass(frozen=True)
class NatsMessage:
    subject: str
    data: bytes
    headers: dict[str, str]


class NatsRecorder:
    """Subscribes to ``subject`` (wildcards allowed) from a background event loop and keeps what arrives."""

    def __init__(self, url: str, subject: str) -> None:
        self.messages: list[NatsMessage] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._nc: Any = asyncio.run_coroutine_threadsafe(self._subscribe(url, subject), self._loop).result(10)

    async def _subscribe(self, url: str, subject: str) -> Any:
        nc = await nats.connect(servers=[url], connect_timeout=2)

        async def on_message(msg: Any) -> None:
            with self._lock:
                self.messages.append(NatsMessage(msg.subject, msg.data, dict(msg.headers or {})))

        await nc.subscribe(subject, cb=on_message)
        await nc.flush()
        return nc

    def wait_for(self, count: int, timeout: float = 10.0) -> list[NatsMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._nc.close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    server = NatsServer()
    try:
        yield server
    finally:
        server.stop()

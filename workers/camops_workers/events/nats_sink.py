"""The NATS sink: each CloudEvent published (structured JSON) to ``<subject>.<type suffix>`` with nats-py.

nats-py is asyncio; the sink runs one event loop in its own thread and the shared sender
thread hands it one publish at a time, so order and retry work as for the webhook. Each
publish is followed by a flush (a PING/PONG round trip): an event counts as delivered once
the server has it. The sink holds one connection and reconnects itself after any failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from typing import Any

import nats
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from camops_workers.contract import NatsSinkConfig
from camops_workers.events.build import PendingEvent
from camops_workers.events.sink import Delivery, EventSink
from camops_workers.redact import redact

__all__ = ["NatsSink", "default_subject", "event_subject"]

_TOKEN_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_CONNECT_TIMEOUT_S = 2.0
_PUBLISH_TIMEOUT_S = 5.0


def default_subject(namespace: str, camera: str) -> str:
    """``camops.<namespace>.<camera>`` with characters NATS treats specially ('.', '*', '>') replaced."""
    return f"camops.{_TOKEN_UNSAFE.sub('_', namespace)}.{_TOKEN_UNSAFE.sub('_', camera)}"


def event_subject(prefix: str, event_type: str) -> str:
    """``<prefix>.snapshot.stored`` for ``io.camops.snapshot.stored``."""
    return f"{prefix}.{event_type.removeprefix('io.camops.')}"


class NatsSink(EventSink):
    kind = "nats"

    def __init__(self, *, camera: str, namespace: str, source: str, outbox_size: int, config: NatsSinkConfig) -> None:
        super().__init__(camera=camera, source=source, outbox_size=outbox_size)
        self.config = config
        self.subject = config.subject or default_subject(namespace, camera)
        self._format = JSONFormat()
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(
            target=self._loop.run_forever, name=f"events-nats-loop-{camera}", daemon=True
        )
        self._nc: Any = None

    def start(self) -> None:
        self._loop_thread.start()
        super().start()

    def deliver(self, event: CloudEvent, pending: PendingEvent) -> tuple[Delivery, str | None]:
        payload = self._format.write(event)
        subject = event_subject(self.subject, pending.type)
        token = self.config.token.read() if self.config.token else None
        future = asyncio.run_coroutine_threadsafe(self._publish(subject, payload, token), self._loop)
        try:
            future.result(timeout=_CONNECT_TIMEOUT_S + _PUBLISH_TIMEOUT_S + 1)
        except Exception as exc:  # noqa: BLE001 - any failure: drop the connection, retry the event
            future.cancel()
            asyncio.run_coroutine_threadsafe(self._disconnect(), self._loop)
            return Delivery.RETRY, redact(f"{type(exc).__name__}: {exc}", (token,) if token else ())
        return Delivery.DELIVERED, None

    async def _publish(self, subject: str, payload: bytes, token: str | None) -> None:
        if self._nc is None or self._nc.is_closed:
            self._nc = await nats.connect(
                servers=list(self.config.servers),
                token=token,
                connect_timeout=_CONNECT_TIMEOUT_S,
                allow_reconnect=False,
                error_cb=_quiet,
                name=f"camops-{self.camera}",
            )
        await self._nc.publish(subject, payload, headers={"Content-Type": self._format.get_content_type()})
        await self._nc.flush(timeout=_PUBLISH_TIMEOUT_S)

    async def _disconnect(self) -> None:
        nc, self._nc = self._nc, None
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(Exception):
                await nc.close()

    def _close_transport(self) -> None:
        if self._loop_thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._disconnect(), self._loop).result(timeout=3)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop_thread.join(3)
        if not self._loop.is_running():
            self._loop.close()


async def _quiet(exc: Exception) -> None:
    """nats-py reports connection errors here too; the sink counts and logs them itself."""
    del exc

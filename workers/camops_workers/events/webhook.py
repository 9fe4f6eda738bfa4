"""The HTTP webhook sink: CloudEvents POSTed in structured or binary content mode (the SDK's HTTP binding)."""

from __future__ import annotations

import httpx
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from camops_workers.contract import WebhookSinkConfig
from camops_workers.events.build import PendingEvent
from camops_workers.events.sink import Delivery, EventSink
from camops_workers.redact import redact

__all__ = ["WebhookSink"]

_RETRYABLE_4XX = {408, 409, 425, 429}


class WebhookSink(EventSink):
    kind = "webhook"

    def __init__(self, *, camera: str, source: str, outbox_size: int, config: WebhookSinkConfig) -> None:
        super().__init__(camera=camera, source=source, outbox_size=outbox_size)
        self.config = config
        self._format = JSONFormat()
        self._client = httpx.Client(timeout=httpx.Timeout(config.timeout_s), headers={"User-Agent": "camops-events/1"})

    def deliver(self, event: CloudEvent, pending: PendingEvent) -> tuple[Delivery, str | None]:
        del pending
        if self.config.mode == "binary":
            message = ce_http.to_binary(event, self._format)
        else:
            message = ce_http.to_structured(event, self._format)
        headers = {**self.config.headers, **message.headers}
        token = self.config.bearer_token.read() if self.config.bearer_token else None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        secrets = (token,) if token else ()
        try:
            response = self._client.post(self.config.url, content=message.body, headers=headers)
        except httpx.HTTPError as exc:
            return Delivery.RETRY, redact(f"{type(exc).__name__}: {exc}", secrets)
        if 200 <= response.status_code < 300:
            return Delivery.DELIVERED, None
        error = f"HTTP {response.status_code} from {redact(self.config.url, secrets)}"
        if 400 <= response.status_code < 500 and response.status_code not in _RETRYABLE_4XX:
            return Delivery.REJECTED, error
        return Delivery.RETRY, error

    def _close_transport(self) -> None:
        self._client.close()

"""The operator's Prometheus metrics and its /healthz + /metrics HTTP server.

Labels never carry credentials or camera names (cardinality): only results,
handler names and phases.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics", "serve_http"]


class Metrics:
    """One registry per operator (tests build their own)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.reconciles = Counter(
            "camops_operator_reconciles_total", "Camera reconciles by result.", ["result"], registry=self.registry
        )
        self.handler_seconds = Histogram(
            "camops_operator_handler_seconds",
            "Handler durations.",
            ["handler"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.cameras_by_phase = Gauge("camops_operator_cameras", "Cameras by phase.", ["phase"], registry=self.registry)
        self.mediamtx_errors = Counter(
            "camops_operator_mediamtx_sync_errors_total",
            "Failed MediaMTX calls.",
            ["operation"],
            registry=self.registry,
        )
        self.mediamtx_repairs = Counter(
            "camops_operator_mediamtx_repairs_total",
            "Paths the drift timer re-applied or removed.",
            ["action"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


@contextlib.asynccontextmanager
async def serve_http(metrics: Metrics, port: int, host: str = "0.0.0.0") -> AsyncIterator[int]:  # noqa: S104
    """Serve /healthz and /metrics until the context exits; yields the bound port."""

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def metrics_view(_: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server: Any = site._server  # aiohttp exposes the bound port only here
    bound = port
    if server is not None and getattr(server, "sockets", None):
        bound = int(server.sockets[0].getsockname()[1])
    try:
        yield bound
    finally:
        await runner.cleanup()

"""The operator's Prometheus metrics and its /healthz + /metrics HTTP server.

Labels never carry credentials or camera names (cardinality): only results,
handler names and phases, and the namespace and name of each RetentionPolicy (a handful
per namespace) on the retention figures the operator exports from their status.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from camops_operator.retention_metrics import RetentionFigures

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
        self.child_repairs = Counter(
            "camops_operator_child_repairs_total",
            "Children (Deployment, ConfigMap, claim, CronJob) put back as declared after a change or deletion.",
            ["kind"],
            registry=self.registry,
        )

        policy = ["namespace", "policy"]
        reg = self.registry
        # full names spelled out: the chart's tests check every name its alerts and dashboard read
        self.retention: dict[str, Gauge] = {
            "last_run_timestamp_seconds": Gauge(
                "camops_retention_last_run_timestamp_seconds",
                "When the policy's last run started.",
                policy,
                registry=reg,
            ),
            "last_success_timestamp_seconds": Gauge(
                "camops_retention_last_success_timestamp_seconds",
                "When a run of the policy last finished without errors.",
                policy,
                registry=reg,
            ),
            "last_run_succeeded": Gauge(
                "camops_retention_last_run_succeeded",
                "1 when the policy's last run succeeded, 0 when it failed.",
                policy,
                registry=reg,
            ),
            "objects_deleted": Gauge(
                "camops_retention_objects_deleted", "Objects the policy's last run deleted.", policy, registry=reg
            ),
            "bytes_freed": Gauge(
                "camops_retention_bytes_freed", "Bytes the policy's last run freed.", policy, registry=reg
            ),
            "objects_archived": Gauge(
                "camops_retention_objects_archived", "Objects the policy's last run archived.", policy, registry=reg
            ),
            "cameras_covered": Gauge(
                "camops_retention_cameras_covered", "Cameras the policy's last run covered.", policy, registry=reg
            ),
            "due_timestamp_seconds": Gauge(
                "camops_retention_due_timestamp_seconds",
                "When the run after the last one was due by the schedule (absent while suspended).",
                policy,
                registry=reg,
            ),
        }

    def set_retention(self, namespace: str, policy: str, figures: RetentionFigures | None) -> None:
        """Export one policy's figures from its status; None (the policy is gone) removes its series."""
        values: dict[str, float | None] = dict.fromkeys(self.retention)
        if figures is not None:
            values |= {
                "last_run_timestamp_seconds": figures.last_run,
                "last_success_timestamp_seconds": figures.last_success,
                "last_run_succeeded": figures.succeeded,
                "objects_deleted": float(figures.objects_deleted),
                "bytes_freed": float(figures.bytes_freed),
                "objects_archived": float(figures.objects_archived),
                "cameras_covered": float(figures.cameras_covered),
                "due_timestamp_seconds": figures.due,
            }
        for name, value in values.items():
            gauge = self.retention[name]
            if value is None:
                with contextlib.suppress(KeyError):  # never exported
                    gauge.remove(namespace, policy)
            else:
                gauge.labels(namespace=namespace, policy=policy).set(value)

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

"""The operator's /healthz and /metrics."""

from __future__ import annotations

import aiohttp

from camops_operator.handlers.context import Runtime
from camops_operator.metrics import Metrics, serve_http
from camops_operator.settings import OperatorSettings


async def test_healthz_and_metrics_with_cameras_by_phase() -> None:
    metrics = Metrics()
    rt = Runtime(settings=OperatorSettings(), metrics=metrics)
    rt.set_phase(("a", "c1"), "Pending")
    rt.set_phase(("a", "c2"), "Pending")
    rt.set_phase(("a", "c1"), "Running")
    rt.set_phase(("a", "c2"), None)
    metrics.reconciles.labels(result="ok").inc()
    async with serve_http(metrics, 0, "127.0.0.1") as port, aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
            assert resp.status == 200
        async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
            text = await resp.text()
    assert 'camops_operator_cameras{phase="Running"} 1.0' in text
    assert 'camops_operator_cameras{phase="Pending"} 0.0' in text
    assert 'camops_operator_reconciles_total{result="ok"} 1.0' in text

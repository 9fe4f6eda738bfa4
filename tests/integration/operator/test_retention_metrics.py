"""The real operator on the emulator exports a RetentionPolicy's last run from its status as metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from camops_operator.metrics import Metrics
from camops_operator.settings import OperatorSettings
from tests.integration.operator.harness import eventually, running_operator
from tests.servers.kube import KubeServer

NS = "site-a"
PATH = f"/apis/camops.io/v1alpha1/namespaces/{NS}/retentionpolicies"


async def _send(session: aiohttp.ClientSession, method: str, path: str, body: dict[str, Any] | None = None) -> None:
    headers = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else {}
    async with session.request(method, path, json=body, headers=headers) as resp:
        assert resp.status < 300, await resp.text()


def _value(metrics: Metrics, name: str) -> float | None:
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            if sample.name == f"camops_retention_{name}" and sample.labels == {"namespace": NS, "policy": "week"}:
                return float(sample.value)
    return None


@pytest.mark.slow
async def test_policy_status_becomes_metrics_and_goes_with_the_policy(
    kube_server: KubeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kube_server.kubeconfig))
    settings = OperatorSettings(namespaces=(NS,), http_port=0, storage_endpoint="minio:9000", retry_delay=0.3)
    policy = {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "RetentionPolicy",
        "metadata": {"name": "week", "namespace": NS},
        "spec": {"selector": {}, "maxAge": "7d", "schedule": "0 3 * * *"},
    }
    run = {
        "lastRun": "2026-03-05T03:00:04Z",
        "lastSuccess": "2026-03-04T03:01:00Z",
        "objectsDeleted": 40,
        "errors": ["storage unreachable"],
        "conditions": [
            {
                "type": "LastRunSucceeded",
                "status": "False",
                "reason": "Failed",
                "message": "storage unreachable",
                "lastTransitionTime": "2026-03-05T03:01:00Z",
            }
        ],
    }
    async with aiohttp.ClientSession(kube_server.url) as session, running_operator(settings) as metrics:
        await _send(session, "POST", PATH, policy)
        await eventually(
            lambda: "camops_retention_due_timestamp_seconds{" in metrics.render().decode(), what="due time exported"
        )
        await _send(session, "PATCH", f"{PATH}/week/status", {"status": run})
        await eventually(lambda: _value(metrics, "last_run_succeeded") == 0.0, what="failed run")
        assert _value(metrics, "objects_deleted") == 40.0
        assert _value(metrics, "due_timestamp_seconds") == datetime(2026, 3, 6, 3, 0, tzinfo=UTC).timestamp()
        await _send(session, "DELETE", f"{PATH}/week")
        await eventually(lambda: 'policy="week"' not in metrics.render().decode(), what="series removed")

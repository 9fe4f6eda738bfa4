"""The operator (kopf, against the KMock emulator) turns the worker's status.capture.picture into the
PictureHealthy condition and posts a Warning Event when the picture goes bad, a Normal one when it is back."""

from __future__ import annotations

import json
from typing import Any

from camops_operator.settings import OperatorSettings
from tests.integration.operator.harness import Cluster, eventually, running_operator

DEPLOYMENTS = "apps/v1/deployments"


def _camera() -> dict[str, Any]:
    return {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "Camera",
        "metadata": {"name": "gate", "namespace": "site-a"},
        "spec": {"source": {"url": "rtsp://10.0.0.7/stream1"}, "health": {"enterAfter": 2}},
    }


async def test_a_frozen_picture_is_a_false_condition_and_a_warning_event(
    cluster: Cluster, operator_settings: OperatorSettings
) -> None:
    frozen = {
        "state": "Frozen",
        "since": "2026-03-01T12:00:00.000Z",
        "message": "picture unchanged for 4m10s",
        "measures": {"luma": 120.0, "change": 0.0},
    }
    async with running_operator(operator_settings):
        await cluster.create(_camera())
        await eventually(lambda: cluster.child(DEPLOYMENTS, "gate-worker"), what="deployment")
        contract = json.loads((cluster.child("v1/configmaps", "gate-worker") or {})["data"]["worker.json"])
        assert contract["health"]["enter_after"] == 2  # spec.health reaches the worker
        async with cluster.session.patch(
            "/apis/apps/v1/namespaces/site-a/deployments/gate-worker/status",
            json={"status": {"availableReplicas": 1, "readyReplicas": 1}},
            headers={"Content-Type": "application/merge-patch+json"},
        ) as resp:
            assert resp.status == 200
        capture = {"sourceConnected": True, "storageReachable": True}
        await cluster.patch_status("gate", {"capture": {**capture, "picture": {"state": "Healthy"}}})
        await eventually(
            lambda: (c := cluster.condition("gate", "PictureHealthy")) and c["status"] == "True", what="healthy"
        )
        await cluster.patch_status("gate", {"capture": {**capture, "picture": frozen}})
        cond = await eventually(
            lambda: (c := cluster.condition("gate", "PictureHealthy")) and c["status"] == "False" and c, what="frozen"
        )
        assert (cond["reason"], cond["message"]) == ("Frozen", "picture unchanged for 4m10s")
        assert cluster.condition("gate", "Ready")["status"] == "True"  # type: ignore[index]
        (event,) = await eventually(lambda: cluster.events("gate", "Frozen"), what="a Warning Event")
        assert event["type"] == "Warning"
        assert "picture unchanged for 4m10s" in event["message"]
        await cluster.patch_status("gate", {"capture": {**capture, "picture": {"state": "Healthy"}}})
        await eventually(
            lambda: (c := cluster.condition("gate", "PictureHealthy")) and c["status"] == "True", what="back"
        )
        healthy = await eventually(lambda: cluster.events("gate", "Healthy"), what="a Normal Event")
        assert healthy[-1]["type"] == "Normal"

"""The child watch against another controller that keeps changing a field: bounded repairs, then it waits."""

from __future__ import annotations

import asyncio

import pytest

from camops_operator.handlers.children import MAX_REPAIRS
from camops_operator.settings import OperatorSettings
from tests.integration.operator.harness import Cluster, eventually, running_operator

pytestmark = pytest.mark.slow

DEPLOYMENT = "/apis/apps/v1/namespaces/site-a/deployments/gate-worker"


def _replicas(cluster: Cluster) -> object:
    return (cluster.child("apps/v1/deployments", "gate-worker") or {}).get("spec", {}).get("replicas")


async def test_a_fight_over_a_field_is_repaired_a_bounded_number_of_times(
    cluster: Cluster, operator_settings: OperatorSettings
) -> None:
    async with running_operator(operator_settings) as metrics:
        await cluster.create(
            {
                "apiVersion": "camops.io/v1alpha1",
                "kind": "Camera",
                "metadata": {"name": "gate", "namespace": "site-a"},
                "spec": {"source": {"url": "rtsp://10.0.0.7/gate"}},
            }
        )
        await eventually(lambda: _replicas(cluster) == 1, what="the worker Deployment")
        repaired = metrics.child_repairs.labels(kind="Deployment")
        edits = MAX_REPAIRS + 3
        for edit in range(edits):  # an autoscaler that insists on 3 replicas
            headers = {"Content-Type": "application/merge-patch+json"}
            async with cluster.session.patch(DEPLOYMENT, json={"spec": {"replicas": 3}}, headers=headers) as resp:
                assert resp.status == 200
            if edit < MAX_REPAIRS:
                await eventually(lambda: _replicas(cluster) == 1, what=f"repair {edit + 1}")
            else:
                await asyncio.sleep(0.5)
        assert repaired._value.get() == MAX_REPAIRS
        assert _replicas(cluster) == 3  # left alone until the window passes
    print(f"\n{edits} edits by another controller: {MAX_REPAIRS} repaired, then left alone for the window")

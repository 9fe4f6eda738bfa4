"""Fault matrix, hand-edited children: the real operator puts back what a person changed, and says so.

A person edits the worker Deployment's replicas, image and command (one at a time, then all
at once while the operator is stopped) and deletes its ConfigMap; the operator, which follows
its children by watch, must put each back within 10 s (the goal), and again at its next
start. Prints each repair time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from camops_operator.settings import OperatorSettings
from tests.integration.operator.conftest import cluster, operator_settings
from tests.integration.operator.harness import Cluster, eventually, running_operator

pytestmark = pytest.mark.slow
__all__ = ["cluster", "operator_settings"]  # the operator tests' fixtures, used here

DEPLOYMENTS = "apps/v1/deployments"
CONFIGMAPS = "v1/configmaps"
EVENTS = "v1/events"
GOAL_S = 10.0
DEPLOYMENT_PATH = "/apis/apps/v1/namespaces/site-a/deployments/gate-worker"


def _camera() -> dict[str, Any]:
    return {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "Camera",
        "metadata": {"name": "gate", "namespace": "site-a"},
        "spec": {"source": {"url": "rtsp://10.0.0.7/gate"}},
    }


async def _merge_patch(cluster: Cluster, path: str, body: dict[str, Any]) -> None:
    headers = {"Content-Type": "application/merge-patch+json"}
    async with cluster.session.patch(path, json=body, headers=headers) as resp:
        assert resp.status == 200, await resp.text()


def _container(cluster: Cluster) -> dict[str, Any]:
    dep = cluster.child(DEPLOYMENTS, "gate-worker") or {}
    containers = dep.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or [{}]
    first: dict[str, Any] = containers[0]
    return first


def _replicas(cluster: Cluster) -> object:
    return (cluster.child(DEPLOYMENTS, "gate-worker") or {}).get("spec", {}).get("replicas")


async def _timed_repair(what: str, edit: Callable[[], Any], repaired: Callable[[], bool]) -> float:
    await edit()
    started = time.monotonic()
    await eventually(repaired, timeout=GOAL_S + 5, what=f"{what} put back")
    seconds = time.monotonic() - started
    print(f"  {what:<34} repaired in {seconds:5.2f} s")
    return seconds


async def test_hand_edits_are_put_back_within_seconds_and_after_a_restart(
    cluster: Cluster, operator_settings: OperatorSettings
) -> None:
    print("\nhand-edited children (goal <= 10 s):")
    times: dict[str, float] = {}
    async with running_operator(operator_settings) as metrics:
        await cluster.create(_camera())
        await eventually(lambda: _replicas(cluster) == 1, what="the worker Deployment")
        want = dict(_container(cluster))

        times["replicas 1 -> 3"] = await _timed_repair(
            "replicas 1 -> 3",
            lambda: _merge_patch(cluster, DEPLOYMENT_PATH, {"spec": {"replicas": 3}}),
            lambda: _replicas(cluster) == 1,
        )
        edited = {**want, "image": "busybox:latest"}
        times["image -> busybox"] = await _timed_repair(
            "image -> busybox",
            lambda: _merge_patch(cluster, DEPLOYMENT_PATH, {"spec": {"template": {"spec": {"containers": [edited]}}}}),
            lambda: _container(cluster).get("image") == want["image"],
        )
        edited = {**want, "command": ["sleep", "infinity"]}
        times["command -> sleep infinity"] = await _timed_repair(
            "command -> sleep infinity",
            lambda: _merge_patch(cluster, DEPLOYMENT_PATH, {"spec": {"template": {"spec": {"containers": [edited]}}}}),
            lambda: _container(cluster).get("command") == want["command"],
        )

        async def delete_config_map() -> None:
            async with cluster.session.delete("/api/v1/namespaces/site-a/configmaps/gate-worker") as resp:
                assert resp.status == 200

        times["ConfigMap deleted"] = await _timed_repair(
            "ConfigMap deleted", delete_config_map, lambda: cluster.child(CONFIGMAPS, "gate-worker") is not None
        )
        assert metrics.child_repairs.labels(kind="Deployment")._value.get() >= 3

    # The operator is down: a person edits everything at once; the next start puts it back.
    edited = {**want, "image": "busybox:latest", "command": ["sleep", "infinity"]}
    await _merge_patch(
        cluster,
        DEPLOYMENT_PATH,
        {"spec": {"replicas": 0, "template": {"spec": {"containers": [edited]}}}},
    )
    started = time.monotonic()
    async with running_operator(operator_settings):
        await eventually(
            lambda: _replicas(cluster) == 1 and _container(cluster) == want,
            timeout=GOAL_S + 5,
            what="every edit put back after the restart",
        )
        times["all three, operator restarted"] = time.monotonic() - started
        print(f"  {'all three, operator restarted':<34} repaired in {times['all three, operator restarted']:5.2f} s")
        events = [e for e in (cluster.kube.get(EVENTS, "site-a", n) for n in cluster.kube.names(EVENTS, "site-a")) if e]
        repaired = [e for e in events if e.get("reason") == "ChildRepaired"]
        assert repaired, "no ChildRepaired Event on the Camera"
        assert all(e["type"] == "Warning" and e["involvedObject"]["name"] == "gate" for e in repaired)
        assert any("spec.replicas" in e["message"] for e in repaired)
    print(f"  worst: {max(times.values()):.2f} s over {len(times)} edits")
    assert max(times.values()) <= GOAL_S

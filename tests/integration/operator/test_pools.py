"""CameraPools with the real kopf operator against the emulator: cameras in, out and between pools."""

from __future__ import annotations

import json
from typing import Any

import pytest

from camops_operator.settings import OperatorSettings
from tests.integration.operator.harness import Cluster, eventually, running_operator

pytestmark = pytest.mark.slow

DEPLOYMENTS = "apps/v1/deployments"
STATEFULSETS = "apps/v1/statefulsets"
CONFIGMAPS = "v1/configmaps"
CRONJOBS = "batch/v1/cronjobs"
POOLS = "camops.io/v1alpha1/camerapools"


def camera(name: str, pool: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"source": {"url": f"rtsp://10.0.0.7/{name}"}}
    if pool:
        spec["pool"] = pool
    return {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "Camera",
        "metadata": {"name": name, "namespace": "site-a"},
        "spec": spec,
    }


async def create_pool(cluster: Cluster, name: str, per_worker: int) -> dict[str, Any]:
    body = {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "CameraPool",
        "metadata": {"name": name, "namespace": "site-a"},
        "spec": {"camerasPerWorker": per_worker, "offlineQueue": {"size": "1Gi"}},
    }
    async with cluster.session.post("/apis/camops.io/v1alpha1/namespaces/site-a/camerapools", json=body) as resp:
        assert resp.status < 300, await resp.text()
        created: dict[str, Any] = await resp.json()
        return created


def assignment(cluster: Cluster, pool: str) -> list[list[str]] | None:
    cm = cluster.child(CONFIGMAPS, f"{pool}-pool")
    if cm is None:
        return None
    loaded: list[list[str]] = json.loads(cm["data"]["assignment.json"])
    return loaded


def served(cluster: Cluster, pool: str, ordinal: int) -> list[str]:
    cm = cluster.child(CONFIGMAPS, f"{pool}-pool") or {"data": {}}
    raw = cm["data"].get(f"worker-{ordinal}.json")
    return [c["camera"] for c in json.loads(raw)["cameras"]] if raw else []


def replicas(cluster: Cluster, pool: str) -> int | None:
    sts = cluster.child(STATEFULSETS, f"{pool}-pool")
    return None if sts is None else int(sts["spec"]["replicas"])


async def test_cameras_move_in_out_and_between_pools(cluster: Cluster, operator_settings: OperatorSettings) -> None:
    async with running_operator(operator_settings):
        lobby = await create_pool(cluster, "lobby", per_worker=2)
        for name in ("a", "b", "c"):
            await cluster.create(camera(name, "lobby"))
        await cluster.create(camera("solo"))
        await eventually(lambda: assignment(cluster, "lobby") == [["a", "b"], ["c"]], what="lobby's assignment")
        await eventually(lambda: replicas(cluster, "lobby") == 2, what="two workers")
        sts = cluster.child(STATEFULSETS, "lobby-pool")
        assert sts is not None
        assert sts["metadata"]["ownerReferences"][0]["uid"] == lobby["metadata"]["uid"]
        assert (served(cluster, "lobby", 0), served(cluster, "lobby", 1)) == (["a", "b"], ["c"])
        await eventually(lambda: cluster.child(DEPLOYMENTS, "solo-worker"), what="solo's own worker")
        assert cluster.kube.names(DEPLOYMENTS, "site-a") == {"solo-worker"}, "pooled cameras got a Deployment"
        status = await eventually(
            lambda: (
                ((cluster.kube.get(POOLS, "site-a", "lobby") or {}).get("status") or {}).get("cameras") == 3
                and cluster.kube.get(POOLS, "site-a", "lobby")
            ),
            what="pool status",
        )
        assert status["status"]["workersDesired"] == 2
        assert status["status"]["capacityLeft"] == 1
        assert [w["cameras"] for w in status["status"]["workers"]] == [2, 1]

        # out of the pool: its own worker appears, its slot frees, the pool shrinks from the end
        await cluster.patch_spec("c", {"pool": None})
        await eventually(lambda: cluster.child(DEPLOYMENTS, "c-worker"), what="c's own worker")
        await eventually(
            lambda: assignment(cluster, "lobby") == [["a", "b"]], what=f"c left lobby {assignment(cluster, 'lobby')}"
        )
        await eventually(lambda: replicas(cluster, "lobby") == 1, what="one worker")

        # into the pool: its own worker scales to 0 and its drain job runs; the pool takes it
        await cluster.patch_spec("solo", {"pool": "lobby"})
        await eventually(lambda: assignment(cluster, "lobby") == [["a", "b"], ["solo"]], what="solo joined")
        await eventually(
            lambda: (cluster.child(DEPLOYMENTS, "solo-worker") or {}).get("spec", {}).get("replicas") == 0,
            what="solo's own worker at 0",
        )
        cron = cluster.child(CRONJOBS, "solo-drain")
        assert cron is not None
        assert cron["spec"]["suspend"] is False, "the drain job must upload what solo's own worker queued"

        # between pools: b leaves lobby for atrium; a keeps its worker
        await create_pool(cluster, "atrium", per_worker=5)
        await cluster.patch_spec("b", {"pool": "atrium"})
        await eventually(lambda: assignment(cluster, "atrium") == [["b"]], what="b in atrium")
        await eventually(lambda: assignment(cluster, "lobby") == [["a"], ["solo"]], what="b left lobby")
        assert served(cluster, "lobby", 0) == ["a"]

        # a worker pod becoming ready makes the pool and its cameras' workers available (watched, not polled)
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "lobby-pool-0", "namespace": "site-a", "labels": {"camops.io/pool": "lobby"}},
            "spec": {"containers": [{"name": "worker", "image": "camops"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }
        async with cluster.session.post("/api/v1/namespaces/site-a/pods", json=pod) as resp:
            assert resp.status < 300, await resp.text()
        await eventually(
            lambda: (c := cluster.condition("a", "WorkerAvailable")) and c["status"] == "True", what="a's worker"
        )
        await eventually(
            lambda: ((cluster.kube.get(POOLS, "site-a", "lobby") or {}).get("status") or {}).get("workersReady") == 1,
            what="lobby's ready worker",
        )


async def test_a_camera_in_a_missing_pool_says_so_until_the_pool_exists(
    cluster: Cluster, operator_settings: OperatorSettings
) -> None:
    async with running_operator(operator_settings):
        await cluster.create(camera("lost", "nowhere"))
        cond = await eventually(lambda: cluster.condition("lost", "WorkerAvailable"), what="status")
        assert cond["status"] == "False"
        assert "CameraPool nowhere does not exist" in cond["message"]
        assert cluster.kube.names(DEPLOYMENTS, "site-a") == set()
        await create_pool(cluster, "nowhere", per_worker=10)
        await eventually(lambda: assignment(cluster, "nowhere") == [["lost"]], what="assigned")
        await eventually(
            lambda: (c := cluster.condition("lost", "WorkerAvailable")) and c["reason"] == "Unavailable",
            what="the camera waits for its pool worker",
        )


async def test_a_hand_deleted_stateful_set_comes_back(cluster: Cluster, operator_settings: OperatorSettings) -> None:
    async with running_operator(operator_settings):
        await create_pool(cluster, "lobby", per_worker=5)
        await cluster.create(camera("a", "lobby"))
        await eventually(lambda: replicas(cluster, "lobby") == 1, what="the pool's StatefulSet")
        async with cluster.session.delete("/apis/apps/v1/namespaces/site-a/statefulsets/lobby-pool") as resp:
            assert resp.status < 300, await resp.text()
        assert replicas(cluster, "lobby") is None
        await eventually(lambda: replicas(cluster, "lobby") == 1, what="the StatefulSet back")

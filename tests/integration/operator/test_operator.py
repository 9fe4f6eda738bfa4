"""The real kopf operator against the Kubernetes emulator and the MediaMTX stand-in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from camops_operator.settings import OperatorSettings
from tests.integration.operator.harness import Cluster, eventually, running_operator
from tests.servers.kube_rbac import ADMIN_HEADERS, Call, authorizing_kube
from tests.servers.mediamtx import MediaMTXStandIn

pytestmark = pytest.mark.slow

DEPLOYMENTS = "apps/v1/deployments"
CONFIGMAPS = "v1/configmaps"
PVCS = "v1/persistentvolumeclaims"
CRONJOBS = "batch/v1/cronjobs"


def camera(name: str = "gate", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "Camera",
        "metadata": {"name": name, "namespace": "site-a", "labels": {"site": "a"}},
        "spec": {"source": {"url": "rtsp://10.0.0.7/stream1"}, **spec},
    }
    return body


def contract(cluster: Cluster, name: str = "gate") -> dict[str, Any]:
    cm = cluster.child(CONFIGMAPS, f"{name}-worker") or {}
    loaded: dict[str, Any] = json.loads(cm.get("data", {}).get("worker.json", "{}"))
    return loaded


def template_hash(cluster: Cluster, name: str = "gate") -> str | None:
    dep = cluster.child(DEPLOYMENTS, f"{name}-worker") or {}
    annotations = dep.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations", {})
    value = annotations.get("camops.io/contract-hash")
    return str(value) if value else None


async def test_create_builds_adopted_children_path_and_status(
    cluster: Cluster, operator_settings: OperatorSettings, mediamtx_server: MediaMTXStandIn
) -> None:
    async with running_operator(operator_settings):
        created = await cluster.create(camera(mediamtx={"enabled": True, "sourceOnDemand": True}))
        uid = created["metadata"]["uid"]
        await eventually(lambda: cluster.child(CRONJOBS, "gate-drain"), what="children")
        await eventually(lambda: cluster.condition("gate", "MediaPathConfigured"), what="status")
        for resource, name in (
            (DEPLOYMENTS, "gate-worker"),
            (CONFIGMAPS, "gate-worker"),
            (PVCS, "gate-queue"),
            (CRONJOBS, "gate-drain"),
        ):
            child = cluster.child(resource, name)
            assert child is not None, f"{resource} {name} missing"
            (ref,) = child["metadata"]["ownerReferences"]
            assert (ref["kind"], ref["name"], ref["uid"], ref["controller"]) == ("Camera", "gate", uid, True)
        cam = cluster.camera("gate")
        assert cam is not None
        assert "camops.io/finalizer" in cam["metadata"]["finalizers"]
        assert cam["status"]["phase"] == "Pending"
        assert cam["status"]["observedGeneration"] == 1
        assert cluster.condition("gate", "MediaPathConfigured")["status"] == "True"  # type: ignore[index]
        assert cluster.condition("gate", "WorkerAvailable")["reason"] == "Unavailable"  # type: ignore[index]
        path = mediamtx_server.paths["site-a-gate"]
        assert path["source"] == "rtsp://10.0.0.7/stream1"
        assert path["sourceOnDemand"] is True
        assert contract(cluster)["snapshots"]["interval_s"] == 10.0


async def test_interval_update_rewrites_the_contract_and_rolls_the_worker(
    cluster: Cluster, operator_settings: OperatorSettings
) -> None:
    async with running_operator(operator_settings):
        await cluster.create(camera())
        first = await eventually(lambda: template_hash(cluster), what="deployment")
        await cluster.patch_spec("gate", {"snapshots": {"interval": "2s"}})
        await eventually(lambda: contract(cluster)["snapshots"]["interval_s"] == 2.0, what="new interval")
        second = await eventually(lambda: (h := template_hash(cluster)) != first and h, what="new hash")
        assert second != first
        await eventually(
            lambda: (cluster.camera("gate") or {}).get("status", {}).get("observedGeneration") == 2,
            what="observedGeneration 2",
        )


async def test_pause_scales_to_zero_and_arms_the_drain_then_resume(
    cluster: Cluster, operator_settings: OperatorSettings
) -> None:
    def replicas() -> object:
        return (cluster.child(DEPLOYMENTS, "gate-worker") or {}).get("spec", {}).get("replicas")

    def drain_suspended() -> object:
        return (cluster.child(CRONJOBS, "gate-drain") or {}).get("spec", {}).get("suspend")

    async with running_operator(operator_settings):
        await cluster.create(camera())
        await eventually(lambda: replicas() == 1 and drain_suspended() is True, what="running, drain suspended")
        await cluster.patch_spec("gate", {"paused": True})
        await eventually(lambda: replicas() == 0 and drain_suspended() is False, what="0 replicas, drain armed")
        await eventually(lambda: (cluster.camera("gate") or {}).get("status", {}).get("phase") == "Paused")
        await cluster.patch_spec("gate", {"paused": False})
        await eventually(lambda: replicas() == 1 and drain_suspended() is True, what="running again")


async def test_delete_removes_the_mediamtx_path_and_releases_the_camera(
    cluster: Cluster, operator_settings: OperatorSettings, mediamtx_server: MediaMTXStandIn
) -> None:
    async with running_operator(operator_settings):
        await cluster.create(camera(mediamtx={"enabled": True}))
        await eventually(lambda: "site-a-gate" in mediamtx_server.paths, what="path added")
        await cluster.delete("gate")
        await eventually(lambda: cluster.camera("gate") is None, what="camera gone")
        assert "site-a-gate" not in mediamtx_server.paths
        # The emulator has no garbage collector: children stay, adopted, for the cluster's GC to cascade.
        dep = cluster.child(DEPLOYMENTS, "gate-worker")
        assert dep is not None
        assert dep["metadata"]["ownerReferences"][0]["name"] == "gate"


async def test_invalid_spec_is_reported_and_builds_nothing(
    cluster: Cluster, operator_settings: OperatorSettings
) -> None:
    async with running_operator(operator_settings):
        await cluster.create(camera(snapshots={"enabled": False}))
        ready = await eventually(lambda: cluster.condition("gate", "Ready"), what="Ready condition")
        assert ready["status"] == "False"
        assert ready["reason"] == "InvalidSpec"
        assert "nothing to capture" in ready["message"]
        assert (cluster.camera("gate") or {})["status"]["phase"] == "Failed"
        assert cluster.child(DEPLOYMENTS, "gate-worker") is None
        (event,) = await eventually(lambda: cluster.events("gate", "InvalidSpec"), what="a Warning Event")
        assert event["type"] == "Warning"
        assert "nothing to capture" in event["message"]
        assert not cluster.events("gate", "Reconciled"), "an invalid spec is not a Normal 'Reconciled'"


async def test_restart_resumes_without_duplicates_or_rewrites(
    cluster: Cluster, operator_settings: OperatorSettings
) -> None:
    names = ["a1", "a2", "a3"]
    async with running_operator(operator_settings):
        for name in names:
            await cluster.create(camera(name))
        await eventually(lambda: all(cluster.condition(n, "Ready") for n in names), what="3 statuses")
    versions = {n: cluster.child(DEPLOYMENTS, f"{n}-worker")["metadata"]["resourceVersion"] for n in names}  # type: ignore[index]
    async with running_operator(operator_settings) as metrics:
        await eventually(
            lambda: metrics.reconciles.labels(result="ok")._value.get() >= len(names), what="resumed reconciles"
        )
    assert cluster.kube.names(DEPLOYMENTS, "site-a") == {f"{n}-worker" for n in names}
    after = {n: cluster.child(DEPLOYMENTS, f"{n}-worker")["metadata"]["resourceVersion"] for n in names}  # type: ignore[index]
    assert after == versions


async def test_worker_report_and_available_deployment_make_the_camera_ready(
    cluster: Cluster, operator_settings: OperatorSettings
) -> None:
    async with running_operator(operator_settings):
        await cluster.create(camera())
        await eventually(lambda: cluster.child(DEPLOYMENTS, "gate-worker"), what="deployment")
        async with cluster.session.patch(
            "/apis/apps/v1/namespaces/site-a/deployments/gate-worker/status",
            json={"status": {"availableReplicas": 1, "readyReplicas": 1}},
            headers={"Content-Type": "application/merge-patch+json"},
        ) as resp:
            assert resp.status == 200
        await cluster.patch_status("gate", {"capture": {"sourceConnected": True, "storageReachable": True}})
        await eventually(
            lambda: (cluster.camera("gate") or {}).get("status", {}).get("phase") == "Running", what="Running"
        )
        assert cluster.condition("gate", "Ready")["status"] == "True"  # type: ignore[index]
        await cluster.patch_status("gate", {"capture": {"sourceConnected": False, "lastError": "stream stalled"}})
        ready = await eventually(
            lambda: (c := cluster.condition("gate", "Ready")) and c["status"] == "False" and c, what="not ready"
        )
        assert ready["reason"] == "Disconnected"
        assert (cluster.camera("gate") or {})["status"]["capture"]["lastError"] == "stream stalled"


def _claim_size(cluster: Cluster, name: str = "gate-queue") -> object:
    claim = cluster.child(PVCS, name) or {}
    return claim.get("spec", {}).get("resources", {}).get("requests", {}).get("storage")


async def test_queue_size_growth_expands_the_claim_and_shrinking_is_refused(
    cluster: Cluster, operator_settings: OperatorSettings
) -> None:
    async with running_operator(operator_settings):
        await cluster.create(camera(offlineQueue={"size": "1Gi"}))
        await eventually(
            lambda: (c := cluster.condition("gate", "QueueVolumeSized")) and c["reason"] == "Sized", what="Sized"
        )
        await cluster.patch_spec("gate", {"offlineQueue": {"size": "2Gi"}})
        await eventually(lambda: _claim_size(cluster) == "2Gi", what="the claim raised to 2Gi")
        await cluster.patch_spec("gate", {"offlineQueue": {"size": "512Mi"}})
        cond = await eventually(
            lambda: (c := cluster.condition("gate", "QueueVolumeSized")) and c["reason"] == "ShrinkRefused" and c,
            what="ShrinkRefused",
        )
        assert cond["status"] == "False"
        assert "cannot shrink" in cond["message"]
        assert "keeps 2Gi" in cond["message"]
        assert _claim_size(cluster) == "2Gi"
        assert cluster.condition("gate", "Ready")["reason"] != "ShrinkRefused"  # type: ignore[index]
        (event,) = await eventually(lambda: cluster.events("gate", "ShrinkRefused"), what="a Warning Event")
        assert event["type"] == "Warning"


async def test_a_claim_that_cannot_grow_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, operator_settings: OperatorSettings
) -> None:
    """A StorageClass without volume expansion: the API server refuses the larger request (403)."""

    def allows(call: Call) -> bool:
        return not (call.resource == "persistentvolumeclaims" and call.verb == "patch")

    async with authorizing_kube(tmp_path, allows) as (kube, _):
        monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig))
        async with aiohttp.ClientSession(kube.url, headers=ADMIN_HEADERS) as session:
            cluster = Cluster(kube=kube, session=session)
            await cluster.create_storage_secret()
            async with running_operator(operator_settings):
                await cluster.create(camera(offlineQueue={"size": "1Gi"}))
                await eventually(lambda: cluster.child(DEPLOYMENTS, "gate-worker"), what="children")
                await cluster.patch_spec("gate", {"offlineQueue": {"size": "4Gi"}})
                cond = await eventually(
                    lambda: (c := cluster.condition("gate", "QueueVolumeSized")) and c["status"] == "False" and c,
                    what="QueueVolumeSized=False",
                )
                assert cond["reason"] == "ExpansionFailed"
                assert "could not grow from 1Gi" in cond["message"]
                assert "403" in cond["message"]
                assert _claim_size(cluster) == "1Gi"
                # the rest of the new spec still went out: the contract carries the new queue bound
                await eventually(lambda: contract(cluster)["queue"]["max_bytes"] > 2**30, what="contract updated")

"""The Kubernetes apply module and the MediaMTX client against their stand-ins (no kopf)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from camops_operator import k8s
from camops_operator.mediamtx import MediaMTXApi, MediaMTXRejectedError, MediaMTXUnavailableError
from tests.servers.kube import KubeServer
from tests.servers.mediamtx import MediaMTXStandIn

OWNER = {"apiVersion": "camops.io/v1alpha1", "kind": "Camera", "name": "gate", "uid": "u-1", "controller": True}


@pytest_asyncio.fixture()
async def api(kube_server: KubeServer) -> AsyncIterator[k8s.KubeApi]:
    client = k8s.KubeApi(k8s.Connection(server=kube_server.url))
    try:
        yield client
    finally:
        await client.close()


def deployment(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "gate-worker", "namespace": "site-a", "labels": {"app": "w"}, "ownerReferences": [OWNER]},
        "spec": {"replicas": 1, **spec},
    }


async def test_create_then_unchanged_then_update_replaces_the_spec(api: k8s.KubeApi, kube_server: KubeServer) -> None:
    first = await k8s.ensure_deployment(api, deployment(paused=True))
    assert first.result == k8s.ApplyResult.CREATED
    again = await k8s.ensure_deployment(api, deployment(paused=True))
    assert again.result == k8s.ApplyResult.UNCHANGED
    live = kube_server.get("apps/v1/deployments", "site-a", "gate-worker")
    assert live is not None
    version = live["metadata"]["resourceVersion"]
    assert again.live["metadata"]["resourceVersion"] == version  # nothing written
    updated = await k8s.ensure_deployment(api, deployment(replicas=0))
    assert updated.result == k8s.ApplyResult.UPDATED
    live = kube_server.get("apps/v1/deployments", "site-a", "gate-worker")
    assert live is not None
    assert live["spec"] == {"replicas": 0}  # "paused" is gone: the spec is replaced whole


async def test_others_labels_and_owners_survive(api: k8s.KubeApi, kube_server: KubeServer) -> None:
    await k8s.ensure_deployment(api, deployment())
    other = {"apiVersion": "v1", "kind": "Thing", "name": "x", "uid": "u-other"}
    async with api._session_().patch(  # someone else labels and co-owns it
        "/apis/apps/v1/namespaces/site-a/deployments/gate-worker",
        json={"metadata": {"labels": {"team": "ops"}, "ownerReferences": [OWNER, other]}},
        headers={"Content-Type": "application/merge-patch+json"},
    ) as resp:
        assert resp.status == 200
    await k8s.ensure_deployment(api, deployment(replicas=0))
    live = kube_server.get("apps/v1/deployments", "site-a", "gate-worker")
    assert live is not None
    assert live["metadata"]["labels"] == {"team": "ops", "app": "w"}
    assert [r["uid"] for r in live["metadata"]["ownerReferences"]] == ["u-other", "u-1"]


async def test_pvc_request_only_grows_and_owner_can_be_dropped(api: k8s.KubeApi, kube_server: KubeServer) -> None:
    def pvc(size: str, *, owned: bool = True, **extra: Any) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": "gate-queue", "namespace": "site-a"}
        if owned:
            meta["ownerReferences"] = [OWNER]
        return {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": meta,
            "spec": {"resources": {"requests": {"storage": size}}, **extra},
        }

    def live() -> dict[str, Any]:
        found = kube_server.get("v1/persistentvolumeclaims", "site-a", "gate-queue")
        assert found is not None
        return found

    await k8s.ensure_pvc(api, pvc("1Gi"), owner_uid="u-1")
    assert (await k8s.ensure_pvc(api, pvc("1024Mi"), owner_uid="u-1")).result == k8s.ApplyResult.UNCHANGED
    shrink = await k8s.ensure_pvc(api, pvc("512Mi", storageClassName="fast"), owner_uid="u-1")
    assert shrink.result == k8s.ApplyResult.UNCHANGED  # never lowered, other spec fields never written
    assert live()["spec"] == {"resources": {"requests": {"storage": "1Gi"}}}
    grow = await k8s.ensure_pvc(api, pvc("2Gi"), owner_uid="u-1")
    assert grow.result == k8s.ApplyResult.UPDATED
    assert grow.drift == ("spec.resources.requests.storage",)
    assert live()["spec"] == {"resources": {"requests": {"storage": "2Gi"}}}
    kept = await k8s.ensure_pvc(api, pvc("2Gi", owned=False), owner_uid="u-1")
    assert kept.result == k8s.ApplyResult.UPDATED
    assert live()["metadata"]["ownerReferences"] == []


async def test_hand_edits_of_owned_fields_are_reverted_and_named(api: k8s.KubeApi, kube_server: KubeServer) -> None:
    desired = deployment(template={"spec": {"containers": [{"name": "w", "image": "camops:1", "command": ["camops"]}]}})
    await k8s.ensure_deployment(api, desired)
    async with api._session_().patch(  # a person edits replicas, image and command
        "/apis/apps/v1/namespaces/site-a/deployments/gate-worker",
        json={
            "spec": {
                "replicas": 3,
                "template": {"spec": {"containers": [{"name": "w", "image": "busybox", "command": ["sleep"]}]}},
            }
        },
        headers={"Content-Type": "application/merge-patch+json"},
    ) as resp:
        assert resp.status == 200
    repaired = await k8s.ensure_deployment(api, desired)
    assert repaired.result == k8s.ApplyResult.UPDATED
    assert set(repaired.drift) == {
        "spec.replicas",
        "spec.template.spec.containers[0].image",
        "spec.template.spec.containers[0].command[0]",
    }
    live = kube_server.get("apps/v1/deployments", "site-a", "gate-worker")
    assert live is not None
    assert live["spec"] == desired["spec"]
    assert (await k8s.ensure_deployment(api, desired)).result == k8s.ApplyResult.UNCHANGED


async def test_concurrent_writers_converge_through_the_resource_version_test(api: k8s.KubeApi) -> None:
    await k8s.ensure_config_map(
        api,
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "site-a"}, "data": {"k": "0"}},
    )
    results = await asyncio.gather(
        *(
            k8s.ensure_config_map(
                api,
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "c", "namespace": "site-a"},
                    "data": {"k": str(i)},
                },
            )
            for i in range(1, 6)
        ),
        return_exceptions=True,
    )
    assert all(isinstance(r, (k8s.Applied, k8s.KubeConflictError)) for r in results)
    live = await k8s.get_config_map(api, "site-a", "c")
    assert live is not None
    assert live["data"]["k"] in {"1", "2", "3", "4", "5"}


async def test_mediamtx_client_pages_through_every_path(mediamtx_server: MediaMTXStandIn) -> None:
    api = MediaMTXApi(mediamtx_server.api_url, timeout_s=2)
    try:
        for i in range(250):
            await api.add_path(f"p{i:03d}", {"source": f"rtsp://10.0.0.1/{i}"})
        listed = await api.list_paths()
        assert len(listed) == 250
        assert listed["p249"]["source"] == "rtsp://10.0.0.1/249"
        assert await api.ensure_path("p001", {"name": "p001", "source": "rtsp://10.0.0.1/1"}) == "unchanged"
        assert await api.ensure_path("p001", {"name": "p001", "source": "rtsp://x/1"}) == "patched"
        assert await api.replace_path("p002", {"source": "publisher"}) is True
        assert mediamtx_server.paths["p002"] == {"name": "p002", "source": "publisher"}
        assert await api.delete_path("p003") is True
        assert await api.delete_path("p003") is False
        with pytest.raises(MediaMTXRejectedError):
            await api.add_path("bad", {"sourceOnDemand": "yes"})  # the spec says boolean
        mediamtx_server.violations.clear()
    finally:
        await api.close()


async def test_mediamtx_client_auth_and_outage(mediamtx_server: MediaMTXStandIn) -> None:
    mediamtx_server.username, mediamtx_server.password = "camops", "pw"
    wrong = MediaMTXApi(mediamtx_server.api_url, username="camops", password="nope", timeout_s=1)  # noqa: S106
    right = MediaMTXApi(mediamtx_server.api_url, username="camops", password="pw", timeout_s=1)  # noqa: S106
    try:
        with pytest.raises(MediaMTXRejectedError):
            await wrong.list_paths()
        assert await right.list_paths() == {}
        await mediamtx_server.stop()
        with pytest.raises(MediaMTXUnavailableError) as caught:
            await right.get_path("x")
        assert "pw" not in str(caught.value)
    finally:
        await wrong.close()
        await right.close()

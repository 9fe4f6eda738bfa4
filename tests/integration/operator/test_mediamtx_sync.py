"""MediaMTX paths: drift repair after a restart, orphans, outages, and RetentionPolicy's recordDeleteAfter."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from camops_operator.settings import OperatorSettings
from tests.integration.operator.harness import Cluster, eventually, running_operator
from tests.servers.kube_rbac import ADMIN_HEADERS, Call, authorizing_kube
from tests.servers.mediamtx import MediaMTXStandIn

pytestmark = pytest.mark.slow


def camera(name: str, **mediamtx: Any) -> dict[str, Any]:
    return {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "Camera",
        "metadata": {"name": name, "namespace": "site-a", "labels": {"tier": "gold"}},
        "spec": {"source": {"url": f"rtsp://10.0.0.7/{name}"}, "mediamtx": {"enabled": True, **mediamtx}},
    }


async def _record_in_ledger(cluster: Cluster, name: str) -> None:
    """Add ``name`` to the operator's ledger of the MediaMTX paths it created."""
    path = "/api/v1/namespaces/camops-system/configmaps/camops-mediamtx-paths"
    ledger = cluster.kube.get("v1/configmaps", "camops-system", "camops-mediamtx-paths") or {}
    names = set(((ledger.get("data") or {}).get("paths") or "").split()) | {name}
    headers = {"Content-Type": "application/merge-patch+json"}
    body = {"data": {"paths": "\n".join(sorted(names))}}
    async with cluster.session.patch(path, json=body, headers=headers) as resp:
        assert resp.status == 200, await resp.text()


async def test_wiped_mediamtx_is_repaired_and_orphans_removed_but_foreign_paths_kept(
    cluster: Cluster, operator_settings: OperatorSettings, mediamtx_server: MediaMTXStandIn
) -> None:
    async with running_operator(operator_settings) as metrics:
        for name in ("c1", "c2", "c3"):
            await cluster.create(camera(name, record=True))
        wanted = {"site-a-c1", "site-a-c2", "site-a-c3"}
        await eventually(lambda: wanted <= set(mediamtx_server.paths), what="3 paths")
        await eventually(  # every reconcile done: what is added from now on is the drift repair's
            lambda: all(
                (c := cluster.condition(n, "MediaPathConfigured")) and c["status"] == "True" for n in ("c1", "c2", "c3")
            ),
            what="3 cameras reconciled",
        )
        mediamtx_server.wipe()  # MediaMTX restarted: API changes are gone
        mediamtx_server.paths["lobby-tv"] = {"name": "lobby-tv", "source": "publisher"}  # from its own config file
        await eventually(lambda: wanted <= set(mediamtx_server.paths), what="paths re-applied")
        assert metrics.mediamtx_repairs.labels(action="added")._value.get() >= 3
        # a renamed path: the old one goes (by the reconcile), the new one comes
        await cluster.patch_spec("c3", {"mediamtx": {"enabled": True, "path": "gate-renamed"}})
        await eventually(lambda: "gate-renamed" in mediamtx_server.paths, what="renamed path")
        await eventually(lambda: "site-a-c3" not in mediamtx_server.paths, what="old path removed")
        # a path the ledger says we created, that no Camera wants (its removal failed back then), is
        # removed by the drift pass; the foreign one stays. A pass that listed MediaMTX just before the
        # path came back may drop it from the ledger as gone: then record it again (bounded).
        for _ in range(5):
            mediamtx_server.paths["site-a-gone"] = {"name": "site-a-gone", "source": "rtsp://10.0.0.7/gone"}
            await _record_in_ledger(cluster, "site-a-gone")
            with contextlib.suppress(AssertionError):
                await eventually(lambda: "site-a-gone" not in mediamtx_server.paths, timeout=3, what="orphan removed")
                break
        assert "site-a-gone" not in mediamtx_server.paths, "the drift pass never removed a path its ledger owns"
        mediamtx_server.paths["site-a-c1"]["sourceOnDemand"] = True  # edited behind our back
        await eventually(lambda: mediamtx_server.paths["site-a-c1"]["sourceOnDemand"] is False, what="drift patched")
    assert mediamtx_server.paths["lobby-tv"] == {"name": "lobby-tv", "source": "publisher"}


async def test_unreachable_mediamtx_is_a_condition_not_a_crash_and_recovers(
    cluster: Cluster, operator_settings: OperatorSettings, mediamtx_server: MediaMTXStandIn
) -> None:
    await mediamtx_server.stop()
    async with running_operator(operator_settings) as metrics:
        await cluster.create(camera("gate"))
        cond = await eventually(
            lambda: (c := cluster.condition("gate", "MediaPathConfigured")) and c["status"] == "False" and c,
            what="MediaPathConfigured=False",
        )
        assert cond["reason"] == "SyncFailed"
        assert cluster.child("apps/v1/deployments", "gate-worker") is not None  # the rest is still built
        assert metrics.mediamtx_errors.labels(operation="sync")._value.get() >= 1
        await mediamtx_server.start()
        await eventually(lambda: "site-a-gate" in mediamtx_server.paths, timeout=20, what="path after recovery")
        await eventually(
            lambda: (c := cluster.condition("gate", "MediaPathConfigured")) and c["status"] == "True",
            timeout=20,
            what="MediaPathConfigured=True",
        )


async def test_deletion_is_not_blocked_longer_than_the_timeout(
    cluster: Cluster, operator_settings: OperatorSettings, mediamtx_server: MediaMTXStandIn
) -> None:
    async with running_operator(operator_settings):
        await cluster.create(camera("gate"))
        await eventually(lambda: "site-a-gate" in mediamtx_server.paths, what="path")
        await mediamtx_server.stop()
        await cluster.delete("gate")
        assert cluster.camera("gate") is not None  # held by the finalizer while MediaMTX is down
        await eventually(
            lambda: cluster.camera("gate") is None,
            timeout=operator_settings.mediamtx_delete_timeout + 10,
            what="camera released",
        )
        (event,) = await eventually(lambda: cluster.events("gate", "MediaMTXPathLeft"), what="a Warning Event")
        assert event["type"] == "Warning"
        assert "site-a-gate" in event["message"]
        assert "drift repair removes it" in event["message"]


async def test_retention_policy_sets_record_delete_after(
    cluster: Cluster, operator_settings: OperatorSettings, mediamtx_server: MediaMTXStandIn
) -> None:
    async with running_operator(operator_settings):
        await cluster.create(camera("gate", record=True, recordDeleteAfter="30d"))
        await eventually(
            lambda: mediamtx_server.paths.get("site-a-gate", {}).get("recordDeleteAfter") == "720h0m0s",
            what="spec's recordDeleteAfter",
        )
        policy = {
            "apiVersion": "camops.io/v1alpha1",
            "kind": "RetentionPolicy",
            "metadata": {"name": "gold-7d", "namespace": "site-a"},
            "spec": {"maxAge": "7d", "selector": {"matchLabels": {"tier": "gold"}}},
        }
        async with cluster.session.post(
            "/apis/camops.io/v1alpha1/namespaces/site-a/retentionpolicies", json=policy
        ) as resp:
            assert resp.status < 300
        await eventually(
            lambda: mediamtx_server.paths.get("site-a-gate", {}).get("recordDeleteAfter") == "168h0m0s",
            what="policy's maxAge as recordDeleteAfter",
        )


async def test_enabling_and_disabling_mediamtx_on_a_camera(
    cluster: Cluster, operator_settings: OperatorSettings, mediamtx_server: MediaMTXStandIn
) -> None:
    body = camera("gate")
    body["spec"]["mediamtx"] = {"enabled": False}
    async with running_operator(operator_settings):
        await cluster.create(body)
        await eventually(lambda: cluster.condition("gate", "MediaPathConfigured"), what="status")
        assert mediamtx_server.paths == {}
        await cluster.patch_spec("gate", {"mediamtx": {"enabled": True}})
        await eventually(lambda: "site-a-gate" in mediamtx_server.paths, what="path added")
        await cluster.patch_spec("gate", {"mediamtx": {"enabled": False}})
        await eventually(lambda: "site-a-gate" not in mediamtx_server.paths, what="path removed")
        await asyncio.sleep(5 * operator_settings.drift_interval)  # several drift passes: none brings it back
        assert "site-a-gate" not in mediamtx_server.paths


async def test_a_failing_drift_pass_sets_media_path_configured_false_with_its_reason(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    operator_settings: OperatorSettings,
    mediamtx_server: MediaMTXStandIn,
) -> None:
    """The ledger in the operator's namespace is forbidden (the README install before its fix): say so."""
    forbidden = {"ledger": True}

    def allows(call: Call) -> bool:
        return not (forbidden["ledger"] and call.resource == "configmaps" and call.namespace == "camops-system")

    async with authorizing_kube(tmp_path, allows) as (kube, emulator):
        monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig))
        async with aiohttp.ClientSession(kube.url, headers=ADMIN_HEADERS) as session:
            cluster = Cluster(kube=kube, session=session)
            await cluster.create_storage_secret()
            async with running_operator(operator_settings):
                await cluster.create(camera("gate"))
                cond = await eventually(
                    lambda: (
                        (c := cluster.condition("gate", "MediaPathConfigured")) and c["reason"] == "DriftFailed" and c
                    ),
                    what="MediaPathConfigured DriftFailed",
                )
                assert cond["status"] == "False"
                assert "403" in cond["message"]
                assert "camops-mediamtx-paths" in cond["message"]
                assert cluster.condition("gate", "Ready")["status"] == "False"  # type: ignore[index]
                assert emulator.denied, "the emulator refused nothing: the test cannot fail"
                forbidden["ledger"] = False  # the RBAC is fixed
                await eventually(
                    lambda: (c := cluster.condition("gate", "MediaPathConfigured")) and c["status"] == "True",
                    what="MediaPathConfigured True after the fix",
                )
                assert kube.get("v1/configmaps", "camops-system", "camops-mediamtx-paths") is not None


async def test_status_is_written_only_when_it_changes(
    cluster: Cluster, operator_settings: OperatorSettings, mediamtx_server: MediaMTXStandIn
) -> None:
    """A MediaMTX restart re-adds the path: the Camera's status (and its resourceVersion) stays as it was."""

    def version() -> str:
        return str((cluster.camera("gate") or {}).get("metadata", {}).get("resourceVersion"))

    async with running_operator(operator_settings) as metrics:
        await cluster.create(camera("gate"))
        await eventually(
            lambda: (c := cluster.condition("gate", "MediaPathConfigured")) and c["status"] == "True", what="path"
        )
        settle = 4 * max(operator_settings.status_interval, operator_settings.drift_interval)
        await asyncio.sleep(settle)
        before, status = version(), (cluster.camera("gate") or {})["status"]
        added = metrics.mediamtx_repairs.labels(action="added")._value.get()
        mediamtx_server.wipe()
        await eventually(lambda: "site-a-gate" in mediamtx_server.paths, what="path re-added")
        assert metrics.mediamtx_repairs.labels(action="added")._value.get() == added + 1
        await asyncio.sleep(settle)  # several status roll-ups and drift passes
        assert (cluster.camera("gate") or {})["status"] == status
        assert version() == before, "the Camera was written although nothing changed"

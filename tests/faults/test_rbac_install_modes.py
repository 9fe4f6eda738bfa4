"""Fault matrix, RBAC: the real operator under the chart's rendered RBAC, for each install mode.

The emulator answers 403 to every call the rendered Roles, ClusterRoles and bindings do not
grant the operator's ServiceAccount (tests/servers/kube_rbac.py), so kopf's own watches and
patches count as much as camops' calls. The operator's settings come from the rendered
Deployment's environment. Before the fix, the README's install (a watched namespace plus
MediaMTX) was refused every read of its ledger ConfigMap in its own namespace.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from camops_operator.settings import OperatorSettings
from tests.integration.operator.harness import Cluster, eventually, running_operator
from tests.servers.kube_rbac import ADMIN_HEADERS, Call, authorizing_kube
from tests.servers.mediamtx import MediaMTXStandIn
from tests.support.rbac import Rbac
from tests.unit.chart.render import NAMESPACE, render

pytestmark = pytest.mark.slow

OPERATOR_SA = (NAMESPACE, "camops")
MEDIAMTX = {"enabled": True, "api": {"password": "not-a-real-password"}}
MODES: dict[str, dict[str, Any]] = {
    "namespaces+mediamtx (README)": {"watchNamespaces": ["site-a"], "mediamtx": MEDIAMTX},
    "all-namespaces+mediamtx": {"mediamtx": MEDIAMTX},
}


def _settings(values: dict[str, Any], mediamtx_url: str) -> OperatorSettings:
    """The settings the chart gives the operator, with the stand-in's URL and short intervals."""
    (container,) = render(values).one("Deployment", "camops")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    env["POD_NAMESPACE"] = NAMESPACE
    settings = OperatorSettings.from_env(env)
    return settings.model_copy(
        update={
            "mediamtx_api_url": mediamtx_url,
            "mediamtx_password": None,
            "mediamtx_username": None,
            "http_port": 0,
            "drift_interval": 0.3,
            "status_interval": 0.3,
            "retry_delay": 0.3,
        }
    )


@pytest.mark.parametrize("mode", MODES)
async def test_the_operator_works_under_the_charts_rbac(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mediamtx_server: MediaMTXStandIn
) -> None:
    values = MODES[mode]
    rbac = Rbac.of(render(values).manifests, OPERATOR_SA)
    settings = _settings(values, mediamtx_server.api_url)
    calls: list[Call] = []

    def allows(call: Call) -> bool:
        calls.append(call)
        return rbac.allows((call.group, call.resource, call.verb), call.namespace, call.name)

    started = time.monotonic()
    async with authorizing_kube(tmp_path, allows) as (kube, emulator):
        monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig))
        async with aiohttp.ClientSession(kube.url, headers=ADMIN_HEADERS) as session:
            cluster = Cluster(kube=kube, session=session)
            await cluster.create_storage_secret()
            async with running_operator(settings):
                await cluster.create(
                    {
                        "apiVersion": "camops.io/v1alpha1",
                        "kind": "Camera",
                        "metadata": {"name": "gate", "namespace": "site-a"},
                        "spec": {"source": {"url": "rtsp://10.0.0.7/gate"}, "mediamtx": {"enabled": True}},
                    }
                )
                await eventually(
                    lambda: (c := cluster.condition("gate", "MediaPathConfigured")) and c["status"] == "True",
                    what="MediaPathConfigured=True",
                )
                await eventually(
                    lambda: kube.get("v1/configmaps", NAMESPACE, "camops-mediamtx-paths"), what="the ledger written"
                )
                mediamtx_server.wipe()  # a MediaMTX restart: the drift pass must re-add the path
                await eventually(lambda: "site-a-gate" in mediamtx_server.paths, what="path re-added by drift repair")
                await asyncio.sleep(4 * settings.drift_interval)  # a few more passes, each reading the ledger
                assert (cluster.condition("gate", "MediaPathConfigured") or {}).get("status") == "True"
    kinds = sorted({f"{c.verb} {c.resource}" for c in calls})
    print(
        f"\n{mode}: {len(calls)} API calls ({len(kinds)} kinds) checked against the chart's RBAC, "
        f"{len(emulator.denied)} refused, {time.monotonic() - started:.1f} s"
    )
    assert [str(c) for c in emulator.denied] == []
    assert any(c.resource == "configmaps" and c.namespace == NAMESPACE for c in calls), "the ledger was never read"

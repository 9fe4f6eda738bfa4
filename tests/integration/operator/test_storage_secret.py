"""The operator keeps the storage credentials Secret in every camera namespace it is told about:
created from the Secret in its own namespace, rotated with it, put back when deleted or edited by hand,
and never a value in its logs."""

from __future__ import annotations

import base64
import functools
import logging
from typing import Any

import aiohttp
import pytest

from camops_operator.settings import OperatorSettings
from tests.integration.operator.harness import eventually, running_operator
from tests.servers.kube import KubeServer

SECRETS = "v1/secrets"
SOURCE = "camops-storage-source"
ACCESS, SECRET, ROTATED = "camops-access-7Q", "s3cr3t-Value-X9", "r0tated-Value-K2"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def _send(session: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> None:
    headers = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else {}
    async with session.request(method, path, json=body, headers=headers) as resp:
        assert resp.status < 300, await resp.text()


def _secret_key(kube: KubeServer, namespace: str) -> str | None:
    copy = kube.get(SECRETS, namespace, "camops-storage")
    if not copy:
        return None
    return base64.b64decode(copy["data"]["secretKey"]).decode()


def _has(kube: KubeServer, namespace: str, value: str) -> bool:
    return _secret_key(kube, namespace) == value


@pytest.mark.slow
async def test_storage_secret_reaches_every_camera_namespace_and_follows_its_source(
    kube_server: KubeServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kube_server.kubeconfig))
    caplog.set_level(logging.DEBUG)
    settings = OperatorSettings(
        namespaces=("site-a", "site-b"),
        operator_namespace="camops-system",
        http_port=0,
        storage_endpoint="minio:9000",
        storage_secret_source=SOURCE,
        storage_secret_namespaces=("site-a", "site-b"),
        storage_secret_interval=0.2,
    )
    source = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SOURCE, "namespace": "camops-system"},
        "type": "Opaque",
        "data": {"accessKey": _b64(ACCESS), "secretKey": _b64(SECRET), "unrelated": _b64("not copied")},
    }
    async with aiohttp.ClientSession(kube_server.url) as session:
        await _send(session, "POST", "/api/v1/namespaces/camops-system/secrets", source)
        async with running_operator(settings):
            for namespace in ("site-a", "site-b"):
                await eventually(functools.partial(_has, kube_server, namespace, SECRET), what=f"copy in {namespace}")
            copy = kube_server.get(SECRETS, "site-a", "camops-storage") or {}
            assert set(copy["data"]) == {"accessKey", "secretKey"}
            assert copy["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "camops"
            assert copy["metadata"]["annotations"]["camops.io/copied-from"] == f"camops-system/{SOURCE}"

            # the key is rotated at the source: every copy follows
            path = f"/api/v1/namespaces/camops-system/secrets/{SOURCE}"
            await _send(session, "PATCH", path, {"data": {"secretKey": _b64(ROTATED)}})
            for namespace in ("site-a", "site-b"):
                await eventually(functools.partial(_has, kube_server, namespace, ROTATED), what=f"rotated {namespace}")

            # deleted or edited by hand: put back
            await _send(session, "DELETE", "/api/v1/namespaces/site-a/secrets/camops-storage")
            patch = {"data": {"secretKey": _b64("hand-edited")}}
            await _send(session, "PATCH", "/api/v1/namespaces/site-b/secrets/camops-storage", patch)
            await eventually(lambda: _secret_key(kube_server, "site-a") == ROTATED, what="deleted copy recreated")
            await eventually(lambda: _secret_key(kube_server, "site-b") == ROTATED, what="edited copy restored")
    text = caplog.text
    assert "storage secret site-a/camops-storage created from camops-system/camops-storage-source" in text
    for value in (ACCESS, SECRET, ROTATED, _b64(SECRET), _b64(ROTATED)):
        assert value not in text


@pytest.mark.slow
async def test_a_missing_source_is_said_once_and_copies_nothing(
    kube_server: KubeServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kube_server.kubeconfig))
    settings = OperatorSettings(
        namespaces=("site-a",),
        operator_namespace="camops-system",
        http_port=0,
        storage_secret_source=SOURCE,
        storage_secret_namespaces=("site-a",),
        storage_secret_interval=0.1,
    )
    async with running_operator(settings):
        await eventually(lambda: f"secret {SOURCE} not found" in caplog.text, what="the warning")
        await eventually(lambda: True, timeout=1.0)
    assert caplog.text.count(f"secret {SOURCE} not found") == 1
    assert kube_server.get(SECRETS, "site-a", "camops-storage") is None

"""Fixtures for the operator's integration tests: emulator + MediaMTX stand-in + the real operator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from camops_operator.settings import OperatorSettings
from tests.integration.operator.harness import Cluster
from tests.servers.kube import KubeServer
from tests.servers.mediamtx import MediaMTXStandIn


@pytest.fixture
def operator_settings(mediamtx_server: MediaMTXStandIn) -> OperatorSettings:
    """Settings with short intervals so timers fire within a test."""
    return OperatorSettings(
        namespaces=("site-a",),
        operator_namespace="camops-system",
        http_port=0,
        storage_endpoint="minio.storage:9000",
        mediamtx_api_url=mediamtx_server.api_url,
        mediamtx_rtsp_url="rtsp://mediamtx:8554",
        mediamtx_timeout=1.0,
        mediamtx_delete_timeout=3.0,
        drift_interval=0.3,
        status_interval=0.3,
        retry_delay=0.3,
    )


@pytest_asyncio.fixture()
async def cluster(kube_server: KubeServer, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Cluster]:
    monkeypatch.setenv("KUBECONFIG", str(kube_server.kubeconfig))
    async with aiohttp.ClientSession(kube_server.url) as session:
        cluster = Cluster(kube=kube_server, session=session)
        await cluster.create_storage_secret()  # as the README has users do
        yield cluster

"""Fault matrix, missing Secrets: a Camera naming a Secret that does not exist is loud, never silently half-done.

The real operator against the emulator and the MediaMTX stand-in. A camera's credentials
Secret is missing: WorkerAvailable and MediaPathConfigured are False with reason
SecretNotFound naming it, a Warning Event says so, and no MediaMTX path is written without
the credentials (the camera would be pulled anonymously). When the Secret appears, the path
is written with them and the conditions clear. Same for a storage Secret (spec.storage.secretRef).
Prints how long each took.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from camops_operator.settings import OperatorSettings
from tests.integration.operator.conftest import cluster, operator_settings
from tests.integration.operator.harness import Cluster, eventually, running_operator
from tests.servers.mediamtx import MediaMTXStandIn

pytestmark = pytest.mark.slow
__all__ = ["cluster", "operator_settings"]  # the operator tests' fixtures, used here


def _camera(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "Camera",
        "metadata": {"name": name, "namespace": "site-a"},
        "spec": {"source": {"url": f"rtsp://10.0.0.7/{name}"}, **spec},
    }


def _reason(cluster: Cluster, name: str, kind: str) -> str | None:
    cond = cluster.condition(name, kind)
    return str(cond["reason"]) if cond else None


async def test_missing_camera_credentials_block_the_path_and_say_which_secret(
    cluster: Cluster, operator_settings: OperatorSettings, mediamtx_server: MediaMTXStandIn
) -> None:
    spec = {
        "source": {"url": "rtsp://10.0.0.7/gate", "credentialsSecretRef": {"name": "gate-login"}},
        "mediamtx": {"enabled": True},
    }
    async with running_operator(operator_settings):
        started = time.monotonic()
        await cluster.create(_camera("gate", **spec))
        await eventually(
            lambda: (
                _reason(cluster, "gate", "MediaPathConfigured") == "SecretNotFound"
                and _reason(cluster, "gate", "WorkerAvailable") == "SecretNotFound"
            ),
            what="SecretNotFound on both conditions",
        )
        reported = time.monotonic() - started
        for kind in ("WorkerAvailable", "MediaPathConfigured", "Ready"):
            cond = cluster.condition("gate", kind) or {}
            assert cond["status"] == "False", kind
            assert "site-a/gate-login" in cond["message"], cond["message"]
        warnings = await eventually(lambda: cluster.events("gate", "SecretNotFound"), what="a Warning Event")
        assert all(e["type"] == "Warning" for e in warnings)
        assert "site-a/gate-login" in warnings[0]["message"]
        await asyncio.sleep(6 * operator_settings.drift_interval)  # the drift passes must not write it either
        assert "site-a-gate" not in mediamtx_server.paths, "a path was written without the camera's credentials"
        assert cluster.child("apps/v1/deployments", "gate-worker") is not None  # ready to start when it appears

        await cluster.create_secret("gate-login", {"username": "viewer", "password": "s3cret-pw"})
        appeared = time.monotonic()
        await eventually(lambda: "site-a-gate" in mediamtx_server.paths, timeout=20, what="path after the Secret")
        assert mediamtx_server.paths["site-a-gate"]["source"] == "rtsp://viewer:s3cret-pw@10.0.0.7/gate"
        await eventually(
            lambda: (c := cluster.condition("gate", "MediaPathConfigured")) and c["status"] == "True",
            what="MediaPathConfigured=True",
        )
        await eventually(
            lambda: _reason(cluster, "gate", "WorkerAvailable") not in {None, "SecretNotFound"},
            timeout=20,
            what="WorkerAvailable no longer SecretNotFound",
        )
        recovered = time.monotonic() - appeared
        for cond in (cam := cluster.camera("gate") or {}).get("status", {}).get("conditions", []):
            assert "s3cret-pw" not in cond["message"]
        assert "s3cret-pw" not in str([e["message"] for e in cluster.events("gate")])
    print(f"\nmissing credentials Secret: reported in {reported:.2f} s, ", end="")
    print(f"path written and conditions clear {recovered:.2f} s after it appeared")
    assert cam


async def test_missing_storage_secret_is_named(cluster: Cluster, operator_settings: OperatorSettings) -> None:
    async with running_operator(operator_settings):
        started = time.monotonic()
        await cluster.create(_camera("dock", storage={"bucket": "dock", "secretRef": {"name": "dock-s3"}}))
        await eventually(lambda: _reason(cluster, "dock", "WorkerAvailable") == "SecretNotFound", what="SecretNotFound")
        reported = time.monotonic() - started
        cond = cluster.condition("dock", "WorkerAvailable") or {}
        assert "site-a/dock-s3" in cond["message"]
        assert "spec.storage.secretRef" in cond["message"]
        assert [e["type"] for e in cluster.events("dock", "SecretNotFound")][:1] == ["Warning"]
        await cluster.create_secret("dock-s3", {"accessKey": "a"})  # one key short
        await eventually(
            lambda: "has no key secretKey" in (cluster.condition("dock", "WorkerAvailable") or {}).get("message", ""),
            timeout=20,
            what="the missing key named",
        )
    print(f"\nmissing storage Secret: reported in {reported:.2f} s")

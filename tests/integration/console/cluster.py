"""The console in front of the Kubernetes emulator and moto: Cameras, objects, and an RBAC table.

KMock emulates no authentication or authorization, so the emulator answers the two review
endpoints the console calls from a small table here (token → user, user → namespaces and
camera names it may ``get``). The console's own client code makes the real HTTP calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

from camops_operator.console.authz import KubeAuthorizer
from camops_operator.console.cli import serve
from camops_operator.k8s import Connection, KubeApi
from camops_workers.contract import StorageConfig
from tests.servers.kube import KubeServer

__all__ = ["BUCKET", "RbacTable", "camera", "put_object", "running_console"]

BUCKET = "console"
CAMERAS = "/apis/camops.io/v1alpha1/namespaces/{ns}/cameras"


@dataclass
class RbacTable:
    """Who is who and who may get which cameras (namespace → None for all, or a set of names)."""

    tokens: dict[str, str] = field(default_factory=dict)
    grants: dict[str, dict[str, set[str] | None]] = field(default_factory=dict)
    reviews: int = 0
    access_reviews: int = 0

    def token_review(self, request: Any) -> dict[str, Any]:
        self.reviews += 1
        token = ((request.data or {}).get("spec") or {}).get("token", "")
        user = self.tokens.get(token)
        status: dict[str, Any] = {"authenticated": user is not None}
        if user:
            status["user"] = {"username": user, "groups": ["system:authenticated"]}
        return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status}

    def access_review(self, request: Any) -> dict[str, Any]:
        self.access_reviews += 1
        spec = (request.data or {}).get("spec") or {}
        attrs = spec.get("resourceAttributes") or {}
        allowed = False
        if (attrs.get("group"), attrs.get("resource"), attrs.get("verb")) == ("camops.io", "cameras", "get"):
            names = self.grants.get(spec.get("user", ""), {})
            if attrs.get("namespace") in names:
                scope = names[attrs["namespace"]]
                allowed = scope is None or (attrs.get("name") in scope)
        return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "status": {"allowed": allowed}}

    def install(self, kube: KubeServer) -> None:
        emulator = kube.emulator

        def forgetting(review: Any) -> Any:
            # The emulator stores every POST as an object before the reaction answers; a review is
            # never stored by a real API server, and the next one would conflict with it (409).
            def answer(request: Any) -> Any:
                for key in [
                    k for k in emulator.objects if "authentication" in str(k[0]) or "authorization" in str(k[0])
                ]:
                    del emulator.objects[key]
                return review(request)

            return answer

        emulator["post /apis/authentication.k8s.io/v1/tokenreviews"] << forgetting(self.token_review)
        emulator["post /apis/authorization.k8s.io/v1/subjectaccessreviews"] << forgetting(self.access_review)


def camera(
    ns: str, name: str, *, phase: str = "Running", last: datetime | None = None, **capture: Any
) -> dict[str, Any]:
    when = (last or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "Camera",
        "metadata": {"namespace": ns, "name": name, "labels": {"site": ns}},
        "spec": {"source": {"url": f"rtsp://10.0.0.1/{name}"}, "storage": {"bucket": BUCKET, "prefix": ns}},
        "status": {"phase": phase, "capture": {"lastSnapshotTime": when, "queueDepth": 0, **capture}},
    }


async def create(session: aiohttp.ClientSession, body: Mapping[str, Any]) -> None:
    ns = body["metadata"]["namespace"]
    async with session.post(CAMERAS.format(ns=ns), json=body) as resp:
        assert resp.status < 300, await resp.text()


async def patch_status(session: aiohttp.ClientSession, ns: str, name: str, status: Mapping[str, Any]) -> None:
    url = CAMERAS.format(ns=ns) + f"/{name}/status"
    headers = {"Content-Type": "application/merge-patch+json"}
    async with session.patch(url, json={"status": status}, headers=headers) as resp:
        assert resp.status < 300, await resp.text()


def put_object(client: Any, key: str, data: bytes, content_type: str = "image/jpeg") -> None:
    if not client.bucket_exists(BUCKET):
        client.make_bucket(BUCKET)
    client.put_object(BUCKET, key, io.BytesIO(data), len(data), content_type=content_type)


@contextlib.asynccontextmanager
async def running_console(
    kube: KubeServer, storage: StorageConfig, *, trust_proxy: bool = False
) -> AsyncIterator[tuple[str, KubeAuthorizer]]:
    """``camops console`` (its serve loop) on a free loopback port; yields its base URL and authorizer."""
    api = KubeApi(Connection(server=kube.url))
    authorizer = KubeAuthorizer(api, trust_proxy=trust_proxy)
    stop = asyncio.Event()
    started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(api, storage, "127.0.0.1", 0, authorizer=authorizer, stop=stop, started=started))
    try:
        port = await asyncio.wait_for(started, 10)
        yield f"http://127.0.0.1:{port}", authorizer
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await api.close()

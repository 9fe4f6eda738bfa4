"""Run the real operator (kopf + camops handlers) against the emulator and the MediaMTX stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp

from camops_operator.metrics import Metrics
from camops_operator.run import serve
from camops_operator.settings import OperatorSettings
from tests.servers.kube import KubeServer

__all__ = ["CAMERAS", "Cluster", "eventually", "running_operator"]

CAMERAS = "camops.io/v1alpha1/cameras"
T = TypeVar("T")


async def eventually(probe: Callable[[], T | None], timeout: float = 15.0, what: str = "condition") -> T:
    """Poll ``probe`` until it returns something truthy (bounded by ``timeout``)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


@dataclass
class Cluster:
    """A client for the emulator plus shortcuts to what the tests look at."""

    kube: KubeServer
    session: aiohttp.ClientSession
    namespace: str = "site-a"
    metrics: Metrics = field(default_factory=Metrics)

    def _path(self, name: str | None = None, sub: str | None = None) -> str:
        out = f"/apis/camops.io/v1alpha1/namespaces/{self.namespace}/cameras"
        if name:
            out += f"/{name}"
        if sub:
            out += f"/{sub}"
        return out

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        async with self.session.post(self._path(), json=body) as resp:
            assert resp.status < 300, await resp.text()
            result: dict[str, Any] = await resp.json()
            return result

    async def patch_spec(self, name: str, spec: dict[str, Any]) -> None:
        headers = {"Content-Type": "application/merge-patch+json"}
        async with self.session.patch(self._path(name), json={"spec": spec}, headers=headers) as resp:
            assert resp.status < 300, await resp.text()

    async def patch_status(self, name: str, status: dict[str, Any]) -> None:
        headers = {"Content-Type": "application/merge-patch+json"}
        async with self.session.patch(self._path(name, "status"), json={"status": status}, headers=headers) as resp:
            assert resp.status < 300, await resp.text()

    async def delete(self, name: str) -> None:
        async with self.session.delete(self._path(name)) as resp:
            assert resp.status < 300, await resp.text()

    def camera(self, name: str) -> dict[str, Any] | None:
        return self.kube.get(CAMERAS, self.namespace, name)

    def child(self, resource: str, name: str) -> dict[str, Any] | None:
        return self.kube.get(resource, self.namespace, name)

    def condition(self, name: str, kind: str) -> dict[str, Any] | None:
        cam = self.camera(name) or {}
        for cond in (cam.get("status") or {}).get("conditions", []):
            if cond["type"] == kind:
                result: dict[str, Any] = cond
                return result
        return None


@contextlib.asynccontextmanager
async def running_operator(settings: OperatorSettings, metrics: Metrics | None = None) -> AsyncIterator[Metrics]:
    """Start ``camops operator`` in this event loop; stop it on exit (bounded)."""
    stop, ready = asyncio.Event(), asyncio.Event()
    metrics = metrics or Metrics()
    task = asyncio.create_task(serve(settings, stop=stop, ready=ready, metrics=metrics))
    waiter = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({task, waiter}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        waiter.cancel()
        task.result()
    try:
        yield metrics
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=15)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def with_session(url: str, fn: Callable[[aiohttp.ClientSession], Awaitable[T]]) -> T:
    async with aiohttp.ClientSession(url) as session:
        return await fn(session)

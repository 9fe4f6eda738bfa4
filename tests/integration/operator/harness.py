"""Run the real operator (kopf + camops handlers) against the emulator and the MediaMTX stand-in."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp

from camops_operator.metrics import Metrics
from camops_operator.run import serve
from camops_operator.settings import OperatorSettings
from tests.servers.kube import KubeServer

__all__ = ["CAMERAS", "STORAGE_SECRET", "Cluster", "eventually", "running_operator"]

CAMERAS = "camops.io/v1alpha1/cameras"
#: The operator's default storage Secret, as the README has the user create it in each camera namespace.
STORAGE_SECRET = "camops-storage"  # noqa: S105 - a Secret name
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

    async def create_secret(self, name: str, data: dict[str, str], namespace: str | None = None) -> None:
        """A Secret with ``data`` (plain text, encoded here), as ``kubectl create secret generic`` makes it."""
        ns = namespace or self.namespace
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": ns},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        }
        async with self.session.post(f"/api/v1/namespaces/{ns}/secrets", json=body) as resp:
            assert resp.status < 300, await resp.text()

    async def create_storage_secret(self) -> None:
        """The operator's default storage Secret in this namespace (as the README has users create it)."""
        await self.create_secret(STORAGE_SECRET, {"accessKey": "camops", "secretKey": "not-a-real-key"})

    async def delete_secret(self, name: str, namespace: str | None = None) -> None:
        async with self.session.delete(f"/api/v1/namespaces/{namespace or self.namespace}/secrets/{name}") as resp:
            assert resp.status < 300, await resp.text()

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

    def events(self, name: str, reason: str | None = None) -> list[dict[str, Any]]:
        """The Events posted about the Camera ``name`` (optionally with one reason), oldest first."""
        found = [
            e
            for e in (
                self.kube.get("v1/events", self.namespace, n) for n in self.kube.names("v1/events", self.namespace)
            )
            if e and e.get("involvedObject", {}).get("name") == name and (reason is None or e.get("reason") == reason)
        ]
        return sorted(found, key=lambda e: int(e.get("metadata", {}).get("resourceVersion", "0")))

    def condition(self, name: str, kind: str) -> dict[str, Any] | None:
        cam = self.camera(name) or {}
        for cond in (cam.get("status") or {}).get("conditions", []):
            if cond["type"] == kind:
                result: dict[str, Any] = cond
                return result
        return None


@contextlib.asynccontextmanager
async def running_operator(settings: OperatorSettings, metrics: Metrics | None = None) -> AsyncIterator[Metrics]:
    """Run ``camops operator`` in its own thread and event loop (as in its own process); stop it on exit.

    kopf treats every task in its loop as its own and waits for them on exit, so the
    emulator and the stand-ins (served by the test's loop) must not share that loop.
    """
    metrics = metrics or Metrics()
    started = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        stop, ready = asyncio.Event(), asyncio.Event()
        box["loop"], box["stop"] = asyncio.get_running_loop(), stop
        waiter = asyncio.create_task(ready.wait())
        waiter.add_done_callback(lambda _: started.set())
        task = asyncio.create_task(serve(settings, stop=stop, ready=ready, metrics=metrics))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():  # the operator ended by itself: that is the test's failure
            stopping.cancel()
            await task
            raise RuntimeError("the operator exited before it was asked to stop")
        # kopf stops its own work at once, then gives leftover requests (its discovery retries
        # against an emulator that is going away) 5 s; a test need not wait for those.
        done, _ = await asyncio.wait({task}, timeout=1.0)
        if not done:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - handed to the test below
            box["error"] = exc
        finally:
            started.set()

    thread = threading.Thread(target=target, name="camops-operator", daemon=True)
    thread.start()
    await asyncio.to_thread(started.wait, 15)
    if "error" in box:
        raise box["error"]
    try:
        yield metrics
    finally:
        if "loop" in box and not box["loop"].is_closed():
            with contextlib.suppress(RuntimeError):
                box["loop"].call_soon_threadsafe(box["stop"].set)
        await asyncio.to_thread(thread.join, 20)
        assert not thread.is_alive(), "the operator did not stop within 20 s"


async def with_session(url: str, fn: Callable[[aiohttp.ClientSession], Awaitable[T]]) -> T:
    async with aiohttp.ClientSession(url) as session:
        return await fn(session)

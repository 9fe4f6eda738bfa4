"""A Kubernetes API for tests: KMock's emulator with the three behaviours kopf depends on.

Stock KMock 0.8 keeps objects as plain JSON and (1) assigns no ``uid``,
``resourceVersion`` or ``generation``, and (2) answers a JSON patch whose
``test`` operation fails with HTTP 500. kopf guards every finalizer/status
JSON patch with ``test /metadata/resourceVersion`` and expects 422 on a
mismatch, so without these fields and that status its finalizer handling stalls.

:class:`CamopsKubeEmulator` adds exactly that:

* create: ``uid``, ``resourceVersion``, ``generation: 1``, ``creationTimestamp``, and a name
  from ``generateName`` (kopf posts Events that way);
* every patch: a fresh ``resourceVersion``; ``generation + 1`` when a patch of
  the main resource changes ``spec`` (computed just before the patch is applied,
  so two racing patches may count once — good enough for an emulator);
* a failed JSON-patch ``test``: 422 Unprocessable Entity;
* a list answers with the current ``resourceVersion``; a watch from that version
  replays only objects changed since (stock KMock replays every object as
  ``ADDED``, so kopf sees a stale duplicate right after its own finalizer patch
  and waits forever for a change), and it marks its place on the event bus
  under the same lock as that snapshot, so nothing written in between is lost
  (deletions between a list and a watch are not replayed).

Everything else is KMock as shipped: label selectors, PUT, server-side apply and
garbage collection are NOT emulated, so deleting an owner leaves its children;
tests assert owner references instead of pretending cascades happen.

``kube_server`` (fixture) starts it on 127.0.0.1 with the resources camops uses
and writes a kubeconfig pointing at it.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp.web
import attrs
import jsonpatch
import kmock
import pytest_asyncio
import yaml
from kmock._internal import dicts, enums, rendering

__all__ = ["CamopsKubeEmulator", "KubeServer", "kube_server", "running_kube", "write_kubeconfig"]

#: Children the operator watches need "watch" (and "list") in discovery, or kopf will not serve them.
_ALL_VERBS = {"get", "list", "watch", "create", "patch", "delete"}
#: Resources camops reads or writes, declared so discovery and listing work.
RESOURCES: dict[str, dict[str, Any]] = {
    "camops.io/v1alpha1/cameras": {
        "kind": "Camera",
        "namespaced": True,
        "singular": "camera",
        "shortnames": {"cam"},
        "subresources": {"status"},
        "verbs": {"get", "list", "watch", "create", "patch", "delete"},
    },
    "camops.io/v1alpha1/retentionpolicies": {
        "kind": "RetentionPolicy",
        "namespaced": True,
        "singular": "retentionpolicy",
        "subresources": {"status"},
        "verbs": {"get", "list", "watch", "create", "patch", "delete"},
    },
    "camops.io/v1alpha1/camerapools": {
        "kind": "CameraPool",
        "namespaced": True,
        "singular": "camerapool",
        "subresources": {"status"},
        "verbs": {"get", "list", "watch", "create", "patch", "delete"},
    },
    "apiextensions.k8s.io/v1/customresourcedefinitions": {"kind": "CustomResourceDefinition", "namespaced": False},
    "v1/configmaps": {"kind": "ConfigMap", "namespaced": True, "verbs": _ALL_VERBS},
    "v1/persistentvolumeclaims": {"kind": "PersistentVolumeClaim", "namespaced": True, "verbs": _ALL_VERBS},
    "v1/events": {"kind": "Event", "namespaced": True},
    "v1/secrets": {"kind": "Secret", "namespaced": True},
    "v1/namespaces": {"kind": "Namespace", "namespaced": False},
    "apps/v1/deployments": {
        "kind": "Deployment",
        "namespaced": True,
        "subresources": {"status"},
        "verbs": _ALL_VERBS,
    },
    "batch/v1/cronjobs": {"kind": "CronJob", "namespaced": True, "verbs": _ALL_VERBS},
    "apps/v1/statefulsets": {"kind": "StatefulSet", "namespaced": True, "subresources": {"status"}},
    "v1/pods": {
        "kind": "Pod",
        "namespaced": True,
        "subresources": {"status"},
        "verbs": {"get", "list", "watch", "create", "patch", "delete"},
    },
}


@attrs.define(kw_only=True)
class CamopsKubeEmulator(kmock.KubernetesEmulator):
    """KMock's emulator plus uid/resourceVersion/generation and 422 for a failed JSON-patch test."""

    _last_version: int = attrs.field(default=0, init=False)

    def _next_version(self) -> str:
        self._last_version += 1
        return str(self._last_version)

    def _lookup(self, request: rendering.Request) -> Any:
        """The stored object a named request addresses (a dict lookup; KMock scans every object)."""
        namespace = request.namespace
        name = request.name
        if name is None and isinstance(request.data, dict):  # create: the name is in the body
            meta = request.data.get("metadata", {})
            namespace, name = namespace or meta.get("namespace"), meta.get("name")
        if request.resource is None or name is None:
            return None
        key = (request.resource, namespace, name)
        return self.objects[key] if key in self.objects else None  # noqa: SIM401 - a mapping without .get()

    def _current(self, request: rendering.Request) -> dict[str, Any] | None:
        obj = self._lookup(request)
        return None if obj is None or obj.deleted else copy.deepcopy(obj.raw)

    async def _serve_fetch(self, request: rendering.Request) -> rendering.Payload:
        obj = self._lookup(request)
        if obj is None or obj.deleted:
            raise kmock.KubernetesObjectNotFoundError()
        raw: dict[str, Any] = obj.raw
        return raw

    async def _serve_create(self, request: rendering.Request) -> rendering.Payload:
        raw: dict[str, Any] = self._lookup(request).last.raw
        return raw

    async def _serve_update(self, request: rendering.Request) -> rendering.Payload:
        raw: dict[str, Any] = self._lookup(request).last.raw
        return raw

    async def _serve_delete(self, request: rendering.Request) -> rendering.Payload:
        raw: dict[str, Any] = self._lookup(request).last.raw
        return raw

    def _stamp(self, request: rendering.Request) -> None:
        if request.resource is None or not isinstance(request.data, (dict, list)):
            return
        version = self._next_version()
        if request.action == enums.action.CREATE and isinstance(request.data, dict):
            meta = request.data.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = f"{meta['generateName']}{uuid.uuid4().hex[:5]}"
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("generation", 1)
            meta.setdefault("creationTimestamp", datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
            meta["resourceVersion"] = version
        elif request.action == enums.action.UPDATE and request.name is not None:
            current = self._current(request)
            if current is None:
                return
            bump = False
            if request.subresource is None:
                try:
                    after = dicts.patch_dict(current, request.data)
                except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, ValueError):
                    after = current  # the real patch will fail the same way and say so
                bump = after.get("spec") != current.get("spec")
            generation = int(current.get("metadata", {}).get("generation", 1)) + (1 if bump else 0)
            if isinstance(request.data, dict):
                meta = request.data.setdefault("metadata", {})
                meta["resourceVersion"] = version
                meta["generation"] = generation
            else:
                request.data.append({"op": "add", "path": "/metadata/resourceVersion", "value": version})
                request.data.append({"op": "add", "path": "/metadata/generation", "value": generation})

    def _matches(self, request: rendering.Request, resource: Any, namespace: str | None, name: str) -> bool:
        return bool(
            resource == request.resource
            and (request.namespace is None or namespace == request.namespace)
            and (request.name is None or name == request.name)
        )

    async def _serve_list(self, request: rendering.Request) -> rendering.Payload:
        result = await super()._serve_list(request)
        if isinstance(result, dict):
            result["metadata"] = {"resourceVersion": str(self._last_version)}
        return result

    async def _serve_watch(self, request: rendering.Request) -> AsyncIterator[rendering.Payload]:
        yield b""  # send the headers now: the stream may stay quiet for long
        assert request.resource is not None
        bus = self._buses[request.resource]
        since = request.params.get("resourceVersion", "")
        since_version = int(since) if since.isdigit() else None
        async with self._lock:
            mark = await bus.mark()
            events = [
                {"type": "ADDED" if since_version is None else "MODIFIED", "object": copy.deepcopy(obj.raw)}
                for (res, ns, name), obj in self.objects.items()
                if not obj.deleted
                and self._matches(request, res, ns, name)
                and (since_version is None or _version(obj.raw) > since_version)
            ]
        for event in events:
            yield event
        async for event in mark:
            meta = event.get("object", {}).get("metadata", {})
            if self._matches(request, request.resource, meta.get("namespace"), meta.get("name")):
                yield event

    async def _handle(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        self._stamp(request)
        try:
            return await super()._handle(request)
        except (jsonpatch.JsonPatchTestFailed, jsonpatch.JsonPatchConflict) as exc:
            error = kmock.KubernetesError(status=422, reason="Invalid", message=f"the patch did not apply: {exc}")
            return await self._render_error(error)
        finally:
            self._forget(request)

    def _forget(self, request: rendering.Request) -> None:
        """Drop an answered request from the request log (KMock filters the whole log on every request)."""
        with contextlib.suppress(ValueError):
            self._requests.remove(request)


def _version(raw: dict[str, Any]) -> int:
    value = str(raw.get("metadata", {}).get("resourceVersion", "0"))
    return int(value) if value.isdigit() else 0


@dataclass
class KubeServer:
    """A running emulator: ``url`` for clients, ``kubeconfig`` for kopf, ``emulator`` for assertions."""

    emulator: CamopsKubeEmulator
    url: str
    kubeconfig: Path

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The stored object as a plain dict, or None when absent or deleted."""
        try:
            obj = self.emulator.objects[resource, namespace, name]
        except KeyError:
            return None
        return None if obj.deleted else copy.deepcopy(obj.raw)

    def names(self, resource: str, namespace: str | None = None) -> set[str]:
        """Names of the live objects of ``resource`` (optionally in one namespace)."""
        wanted = kmock.resource(resource)
        return {
            name
            for (res, ns, name), obj in self.emulator.objects.items()
            if res == wanted and (namespace is None or ns == namespace) and not obj.deleted
        }


def write_kubeconfig(path: Path, url: str) -> Path:
    """A kubeconfig with one context pointing at ``url`` (no credentials: the emulator needs none)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "emulator", "cluster": {"server": url}}],
        "users": [{"name": "emulator", "user": {}}],
        "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "emulator"}}],
        "current-context": "emulator",
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@contextlib.asynccontextmanager
async def running_kube(directory: Path) -> AsyncIterator[KubeServer]:
    """Start the emulator on 127.0.0.1 (free port) with camops' resources declared."""
    emulator = CamopsKubeEmulator()
    for key, info in RESOURCES.items():
        emulator.resources[key] = kmock.ResourceInfo(**info)
    async with emulator, kmock.Server(emulator) as server:
        url = str(server.url).rstrip("/")
        yield KubeServer(emulator=emulator, url=url, kubeconfig=write_kubeconfig(directory / "kubeconfig", url))


@pytest_asyncio.fixture()
async def kube_server(tmp_path: Path) -> AsyncIterator[KubeServer]:
    """A fresh Kubernetes API emulator for one test."""
    async with running_kube(tmp_path) as server:
        yield server

"""The Kubernetes emulator with an authorizer: requests it refuses get 403, as a real API server's RBAC answers.

``authorizing_kube(directory, allows)`` starts :class:`AuthorizingKubeEmulator` where ``allows(call)``
decides each API request (discovery is always allowed). Pair it with
:class:`tests.support.rbac.Rbac` to run the real operator under the chart's rendered RBAC.
Every refused call is kept in ``denied`` for the test to print and assert on. The test's own
client (creating Cameras, reading status) acts as a cluster admin by sending :data:`ADMIN_HEADERS`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp.web
import attrs
import kmock
from kmock._internal import enums, rendering

from tests.servers.kube import RESOURCES, CamopsKubeEmulator, KubeServer, write_kubeconfig

__all__ = ["ADMIN_HEADERS", "AuthorizingKubeEmulator", "Call", "authorizing_kube"]

#: Headers of a client that is never refused (the test acting as the cluster's admin).
ADMIN_HEADERS = {"X-Camops-Test-Admin": "yes"}

_VERBS = {
    enums.action.LIST: "list",
    enums.action.WATCH: "watch",
    enums.action.FETCH: "get",
    enums.action.CREATE: "create",
    enums.action.DELETE: "delete",
}


@dataclass(frozen=True)
class Call:
    """One API request as RBAC sees it."""

    verb: str
    group: str
    resource: str  # with its subresource: "cameras/status"
    namespace: str | None
    name: str | None

    def __str__(self) -> str:
        where = f"namespace {self.namespace}" if self.namespace else "cluster-wide"
        return f"{self.verb} {self.group or 'core'}/{self.resource} {self.name or ''} in {where}"


def _call(request: rendering.Request) -> Call | None:
    if request.resource is None or request.resource.plural is None or request.action is None:
        return None  # discovery (/api, /apis/<group>/<version>): every client may read it
    if request.action == enums.action.UPDATE:
        verb = "update" if request.method == enums.method.PUT else "patch"
    else:
        verb = _VERBS[request.action]
    resource = str(request.resource.plural)
    if request.subresource:
        resource = f"{resource}/{request.subresource}"
    return Call(verb, str(request.resource.group or ""), resource, request.namespace, request.name)


@attrs.define(kw_only=True)
class AuthorizingKubeEmulator(CamopsKubeEmulator):
    """:class:`CamopsKubeEmulator` that answers 403 Forbidden to what ``allows`` refuses."""

    allows: Callable[[Call], bool] = attrs.field(default=lambda _: True)
    denied: list[Call] = attrs.field(factory=list)

    async def _handle(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        call = _call(request)
        admin = all(request.headers.get(k) == v for k, v in ADMIN_HEADERS.items())
        if call is not None and not admin and not self.allows(call):
            self.denied.append(call)
            self._forget(request)
            error = kmock.KubernetesError(status=403, reason="Forbidden", message=f"{call} is forbidden")
            return await self._render_error(error)
        return await super()._handle(request)


@contextlib.asynccontextmanager
async def authorizing_kube(
    directory: Path, allows: Callable[[Call], bool]
) -> AsyncIterator[tuple[KubeServer, AuthorizingKubeEmulator]]:
    """Start the authorizing emulator on 127.0.0.1 (free port) with camops' resources declared."""
    emulator = AuthorizingKubeEmulator(allows=allows)
    for key, info in RESOURCES.items():
        emulator.resources[key] = kmock.ResourceInfo(**info)
    async with emulator, kmock.Server(emulator) as server:
        url = str(server.url).rstrip("/")
        yield (
            KubeServer(emulator=emulator, url=url, kubeconfig=write_kubeconfig(directory / "kubeconfig", url)),
            emulator,
        )

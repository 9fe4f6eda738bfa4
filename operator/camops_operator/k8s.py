"""The operator's only Kubernetes API caller: idempotent create-or-patch of the children it owns.

Policy, the same for every kind:

* ``GET`` the object; ``404`` → ``POST`` it (for a new owner, ``assume_absent`` tries the
  ``POST`` first and falls back to the rest on ``409``); a ``409`` on create means someone
  created it meanwhile → start over (bounded).
* The live object is compared field by field with the desired one
  (:func:`camops_operator.builders.owned.owned_fields_drift`: every field camops sets,
  not a hash annotation), so a hand-edited child is put back; when nothing owned
  differs nothing is written.
* Otherwise one JSON patch, guarded by a ``test`` of ``metadata.resourceVersion``:
  our labels and annotations are merged into the live ones, our owner reference
  replaces any other reference with the same uid, and the owned top-level
  sections (``spec``, ``data``) are replaced whole so removed fields go away.
  ``409``/``422`` (someone else wrote in between) → start over; ``404`` → create.
* A PersistentVolumeClaim's spec is immutable once bound except its storage request,
  which may only grow: its metadata is reconciled, its request raised when the desired
  one is larger, never lowered (see :func:`claim_resize`).

Nothing here relies on PUT, server-side apply, label selectors or garbage
collection. Every public function declares its permissions with
:func:`camops_workers.kube.requires` so RBAC is derived from the code.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp

from camops_operator.builders.owned import owned_fields_drift
from camops_workers.kube import OPERATOR_NAMESPACE, STORAGE_SECRET_COPIES, STORAGE_SECRET_SOURCE, requires
from camops_workers.units import parse_quantity

__all__ = [
    "API_FAILURES",
    "CONFIG_MAP",
    "CRON_JOB",
    "DEPLOYMENT",
    "PVC",
    "SECRET",
    "STATEFUL_SET",
    "Applied",
    "ApplyResult",
    "Connection",
    "Kind",
    "KubeApi",
    "KubeConflictError",
    "KubeError",
    "claim_resize",
    "describe_failure",
    "drift",
    "ensure_config_map",
    "ensure_cron_job",
    "ensure_deployment",
    "ensure_own_config_map",
    "ensure_pvc",
    "ensure_stateful_set",
    "ensure_storage_secret_copy",
    "get_config_map",
    "get_deployment",
    "get_own_config_map",
    "get_pvc",
    "get_secret_values",
    "get_storage_secret_source",
    "list_cameras",
    "patch_pool_status",
    "secret_keys",
]

#: How often a create-or-patch starts over after losing a race before giving up (TemporaryError upstream).
MAX_ATTEMPTS = 4
JSON = dict[str, Any]


@dataclass(frozen=True)
class Kind:
    """One API resource: where it lives and which top-level sections we own."""

    group: str
    version: str
    plural: str
    kind: str
    owned_sections: tuple[str, ...] = ("spec",)
    #: Sections camops owns whole (extra live keys are drift); others are compared key by key.
    exact_sections: tuple[str, ...] = ()
    #: Only metadata (and, for a claim, a larger storage request) is reconciled after creation.
    create_only: bool = False

    def path(self, namespace: str, name: str | None = None) -> str:
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        out = f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{out}/{name}" if name else out


CONFIG_MAP = Kind(
    "", "v1", "configmaps", "ConfigMap", owned_sections=("data", "binaryData"), exact_sections=("data", "binaryData")
)
PVC = Kind("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", create_only=True)
DEPLOYMENT = Kind("apps", "v1", "deployments", "Deployment")
CRON_JOB = Kind("batch", "v1", "cronjobs", "CronJob")
STATEFUL_SET = Kind("apps", "v1", "statefulsets", "StatefulSet")
SECRET = Kind("", "v1", "secrets", "Secret", owned_sections=("data",), exact_sections=("data",))
CAMERA_POOL = Kind("camops.io", "v1alpha1", "camerapools", "CameraPool")
CAMERA = Kind("camops.io", "v1alpha1", "cameras", "Camera")


class KubeError(Exception):
    """The API server refused a request (status, reason and message from its Status object)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


#: What a call to the API server can fail with that is worth retrying (refusals, timeouts, dropped connections).
API_FAILURES: tuple[type[Exception], ...] = (KubeError, OSError, TimeoutError, aiohttp.ClientError)


def describe_failure(exc: BaseException) -> str:
    """A message a person can act on, also for exceptions that carry none (a bare TimeoutError)."""
    if isinstance(exc, KubeError):
        return str(exc)
    text = str(exc).strip()
    name = type(exc).__name__
    if isinstance(exc, TimeoutError) and not text:
        return f"{name}: the Kubernetes API did not answer in time"
    return f"{name}: {text}" if text else f"{name} (no message)"


class KubeConflictError(KubeError):
    """Lost the race for an object :data:`MAX_ATTEMPTS` times in a row; retry later."""


class ApplyResult(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Applied:
    """What one create-or-patch did, the object as the server returned it, and what was repaired."""

    result: ApplyResult
    live: JSON
    #: The owned fields that differed on the live object before an update (dotted paths).
    drift: tuple[str, ...] = ()


@dataclass(frozen=True)
class Connection:
    """How to reach the API server (mapped from kopf's ``ConnectionInfo`` by the runner)."""

    server: str
    token: str | None = None
    ca_path: str | None = None
    ca_data: bytes | None = None
    insecure: bool = False
    certificate_path: str | None = None
    private_key_path: str | None = None


class KubeApi:
    """A small async JSON client bound to one API server; one pooled session per operator."""

    def __init__(self, connection: Connection, *, limit: int = 32, timeout_s: float = 30.0) -> None:
        self._conn = connection
        self._limit = limit
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def _ssl(self) -> ssl.SSLContext | bool:
        if not self._conn.server.startswith("https"):
            return False
        if self._conn.insecure:
            return False
        ctx = ssl.create_default_context(
            cafile=self._conn.ca_path,
            cadata=self._conn.ca_data.decode() if self._conn.ca_data else None,
        )
        if self._conn.certificate_path and self._conn.private_key_path:
            ctx.load_cert_chain(self._conn.certificate_path, self._conn.private_key_path)
        return ctx

    def _session_(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {"Accept": "application/json"}
            if self._conn.token:
                headers["Authorization"] = f"Bearer {self._conn.token}"
            self._session = aiohttp.ClientSession(
                base_url=self._conn.server.rstrip("/"),
                headers=headers,
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=self._limit, ssl=self._ssl()),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self, method: str, path: str, body: Any = None, *, content_type: str = "application/json"
    ) -> JSON | None:
        """One API call; ``None`` for 404, :class:`KubeError` for any other failure."""
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": content_type} if body is not None else {}
        async with self._session_().request(method, path, data=data, headers=headers) as resp:
            text = await resp.text()
            if resp.status == 404:
                return None
            payload: Any = json.loads(text) if text else {}
            if resp.status >= 400:
                reason = payload.get("reason", "") if isinstance(payload, dict) else ""
                message = payload.get("message", text[:200]) if isinstance(payload, dict) else text[:200]
                raise KubeError(resp.status, str(reason), str(message))
            return payload if isinstance(payload, dict) else {}

    async def stream(self, path: str, params: Mapping[str, str]) -> AsyncIterator[JSON]:
        """A watch: one JSON object per line until the server ends the response; :class:`KubeError` on refusal."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._timeout.total, sock_read=None)
        async with self._session_().get(path, params=dict(params), timeout=timeout) as resp:
            if resp.status >= 400:
                text = await resp.text()
                raise KubeError(resp.status, "", text[:200])
            async for line in resp.content:
                if line.strip():
                    event = json.loads(line)
                    if isinstance(event, dict):
                        yield event


def _merged_owner_refs(live: list[JSON], desired: list[JSON], ours: set[str]) -> list[JSON]:
    """Keep references of other owners; ours (by uid) become exactly the desired ones."""
    keep = [ref for ref in live if ref.get("uid") not in ours and ref.get("uid") not in {d["uid"] for d in desired}]
    return keep + desired


def _patch_ops(kind: Kind, live: JSON, desired: JSON, owner_uids: set[str]) -> list[JSON]:
    meta = live.get("metadata", {})
    want = desired.get("metadata", {})
    ops: list[JSON] = [{"op": "test", "path": "/metadata/resourceVersion", "value": meta.get("resourceVersion")}]
    ops.append({"op": "add", "path": "/metadata/labels", "value": {**meta.get("labels", {}), **want.get("labels", {})}})
    ops.append(
        {
            "op": "add",
            "path": "/metadata/annotations",
            "value": {**meta.get("annotations", {}), **want.get("annotations", {})},
        }
    )
    ops.append(
        {
            "op": "add",
            "path": "/metadata/ownerReferences",
            "value": _merged_owner_refs(meta.get("ownerReferences", []), want.get("ownerReferences", []), owner_uids),
        }
    )
    if kind.create_only:
        grown = claim_resize(desired, live)
        if grown is not None:
            ops.append({"op": "replace", "path": "/" + "/".join(STORAGE_PATH), "value": grown})
    else:
        for section in kind.owned_sections:
            if section in desired:
                ops.append({"op": "add", "path": f"/{section}", "value": desired[section]})
            elif section in live:
                ops.append({"op": "remove", "path": f"/{section}"})
    return ops


STORAGE_PATH = ("spec", "resources", "requests", "storage")


def _storage(manifest: Mapping[str, Any]) -> str | None:
    value: Any = manifest
    for key in STORAGE_PATH:
        value = value.get(key) if isinstance(value, Mapping) else None
    return str(value) if value is not None else None


def claim_resize(desired: Mapping[str, Any], live: Mapping[str, Any]) -> str | None:
    """The storage request to patch onto a live claim: the desired one when larger, else None (pure)."""
    want, have = _storage(desired), _storage(live)
    if want is None or have is None:
        return None
    try:
        return want if parse_quantity(want) > parse_quantity(have) else None
    except ValueError:
        return None


def drift(kind: Kind, live: JSON, desired: JSON, owner_uids: set[str]) -> list[str]:
    """The owned fields of ``live`` that differ from ``desired`` (pure; empty: nothing to write)."""
    if kind.create_only:
        compared = {"metadata": desired.get("metadata", {})}
        out = owned_fields_drift(compared, live, exact=())
        if claim_resize(desired, live) is not None:
            out.append(".".join(STORAGE_PATH))
    else:
        compared = {k: v for k, v in desired.items() if k == "metadata" or k in kind.owned_sections}
        out = owned_fields_drift(compared, live, exact=kind.exact_sections)
        out += [s for s in kind.owned_sections if s not in desired and s in live and s not in kind.exact_sections]
    ours = {ref.get("uid") for ref in desired.get("metadata", {}).get("ownerReferences", [])}
    stale = [ref for ref in live.get("metadata", {}).get("ownerReferences", []) if ref.get("uid") in owner_uids - ours]
    if stale:
        out.append("metadata.ownerReferences")
    return out


async def _ensure(
    api: KubeApi, kind: Kind, manifest: Mapping[str, Any], owner_uids: set[str], *, assume_absent: bool = False
) -> Applied:
    desired = dict(manifest)
    namespace = desired["metadata"]["namespace"]
    name = desired["metadata"]["name"]
    last: KubeError | None = None
    for attempt in range(MAX_ATTEMPTS):
        if assume_absent and attempt == 0:  # a new owner: try the create first, saving a GET
            try:
                created = await api.request("POST", kind.path(namespace), desired)
            except KubeError as exc:
                if exc.status != 409:  # exists already: reconcile it below
                    raise
            else:
                return Applied(ApplyResult.CREATED, created or desired)
        live = await api.request("GET", kind.path(namespace, name))
        if live is None:
            try:
                created = await api.request("POST", kind.path(namespace), desired)
            except KubeError as exc:
                if exc.status == 409:
                    continue
                raise
            return Applied(ApplyResult.CREATED, created or desired)
        differs = drift(kind, live, desired, owner_uids)
        if not differs:
            return Applied(ApplyResult.UNCHANGED, live)
        try:
            patched = await api.request(
                "PATCH",
                kind.path(namespace, name),
                _patch_ops(kind, live, desired, owner_uids),
                content_type="application/json-patch+json",
            )
        except KubeError as exc:
            if exc.status in {409, 422}:  # changed meanwhile (the resourceVersion test failed), or refused
                last = exc
                await asyncio.sleep(0)
                continue
            raise
        if patched is None:  # deleted meanwhile
            continue
        return Applied(ApplyResult.UPDATED, patched, tuple(differs))
    answer = f" (last answer: {last.status} {last.reason}: {last.message})" if last is not None else ""
    raise KubeConflictError(409, "Conflict", f"{kind.kind} {namespace}/{name} kept changing; will retry{answer}")


def _owner_uids(manifest: Mapping[str, Any], owner_uid: str | None) -> set[str]:
    uids = {ref["uid"] for ref in manifest.get("metadata", {}).get("ownerReferences", [])}
    if owner_uid:
        uids.add(owner_uid)
    return uids


@requires("", "configmaps", "get", "create", "patch")
async def ensure_config_map(
    api: KubeApi, manifest: Mapping[str, Any], *, owner_uid: str | None = None, assume_absent: bool = False
) -> Applied:
    """Create or patch a ConfigMap (its ``data`` replaced whole)."""
    return await _ensure(api, CONFIG_MAP, manifest, _owner_uids(manifest, owner_uid), assume_absent=assume_absent)


@requires("", "persistentvolumeclaims", "get", "create", "patch")
async def ensure_pvc(
    api: KubeApi, manifest: Mapping[str, Any], *, owner_uid: str | None = None, assume_absent: bool = False
) -> Applied:
    """Create a PersistentVolumeClaim, or reconcile only its metadata (its spec is immutable once bound).

    ``owner_uid`` names the owner whose reference must go when the manifest has none
    (the claim is kept after the Camera is deleted).
    """
    return await _ensure(api, PVC, manifest, _owner_uids(manifest, owner_uid), assume_absent=assume_absent)


@requires("apps", "deployments", "get", "create", "patch")
async def ensure_deployment(
    api: KubeApi, manifest: Mapping[str, Any], *, owner_uid: str | None = None, assume_absent: bool = False
) -> Applied:
    """Create or patch a Deployment (its ``spec`` replaced whole)."""
    return await _ensure(api, DEPLOYMENT, manifest, _owner_uids(manifest, owner_uid), assume_absent=assume_absent)


@requires("batch", "cronjobs", "get", "create", "patch")
async def ensure_cron_job(
    api: KubeApi, manifest: Mapping[str, Any], *, owner_uid: str | None = None, assume_absent: bool = False
) -> Applied:
    """Create or patch a CronJob (its ``spec`` replaced whole)."""
    return await _ensure(api, CRON_JOB, manifest, _owner_uids(manifest, owner_uid), assume_absent=assume_absent)


@requires("apps", "statefulsets", "get", "create", "patch")
async def ensure_stateful_set(
    api: KubeApi, manifest: Mapping[str, Any], *, owner_uid: str | None = None, assume_absent: bool = False
) -> Applied:
    """Create or patch a StatefulSet (its ``spec`` replaced whole).

    The API server refuses changes to ``volumeClaimTemplates`` (422): a pool's queue size and class
    are fixed once its StatefulSet exists, and such a change ends as :class:`KubeConflictError`.
    """
    return await _ensure(api, STATEFUL_SET, manifest, _owner_uids(manifest, owner_uid), assume_absent=assume_absent)


@requires("camops.io", "camerapools/status", "patch")
async def patch_pool_status(api: KubeApi, namespace: str, name: str, status: Mapping[str, Any]) -> None:
    """Merge-patch a CameraPool's status subresource (a pool that is gone is ignored)."""
    await api.request(
        "PATCH",
        f"{CAMERA_POOL.path(namespace, name)}/status",
        {"status": dict(status)},
        content_type="application/merge-patch+json",
    )


@requires("", "persistentvolumeclaims", "get")
async def get_pvc(api: KubeApi, namespace: str, name: str) -> JSON | None:
    """The live PersistentVolumeClaim, or None when it does not exist."""
    return await api.request("GET", PVC.path(namespace, name))


@requires("apps", "deployments", "get")
async def get_deployment(api: KubeApi, namespace: str, name: str) -> JSON | None:
    """The live Deployment, or None when it does not exist."""
    return await api.request("GET", DEPLOYMENT.path(namespace, name))


@requires("", "configmaps", "get")
async def get_config_map(api: KubeApi, namespace: str, name: str) -> JSON | None:
    """The live ConfigMap, or None when it does not exist."""
    return await api.request("GET", CONFIG_MAP.path(namespace, name))


@requires("", "configmaps", "get", scope=OPERATOR_NAMESPACE)
async def get_own_config_map(api: KubeApi, namespace: str, name: str) -> JSON | None:
    """A ConfigMap of the operator's own namespace (its MediaMTX ledger), or None."""
    return await api.request("GET", CONFIG_MAP.path(namespace, name))


@requires("", "configmaps", "get", "create", "patch", scope=OPERATOR_NAMESPACE)
async def ensure_own_config_map(api: KubeApi, manifest: Mapping[str, Any]) -> Applied:
    """Create or patch a ConfigMap of the operator's own namespace (not owned by any Camera)."""
    return await _ensure(api, CONFIG_MAP, manifest, set())


@requires("camops.io", "cameras", "list")
async def list_cameras(api: KubeApi, namespace: str) -> list[JSON]:
    """Every Camera in ``namespace`` (a RetentionPolicy's CronJob mounts its cameras' storage Secrets)."""
    body = await api.request("GET", CAMERA.path(namespace))
    items: list[JSON] = (body or {}).get("items") or []
    return items


@requires("", "secrets", "get")
async def secret_keys(api: KubeApi, namespace: str, name: str) -> set[str] | None:
    """The key names a Secret holds (never its values), or None when it does not exist."""
    secret = await api.request("GET", f"/api/v1/namespaces/{namespace}/secrets/{name}")
    if secret is None:
        return None
    return set((secret.get("data") or {}).keys())


@requires("", "secrets", "get")
async def get_secret_values(api: KubeApi, namespace: str, name: str, keys: tuple[str, ...]) -> tuple[str, ...] | None:
    """The decoded values of ``keys`` in a Secret, or None when the Secret or a key is missing.

    Only for handing a camera's credentials to MediaMTX; the values are never logged or stored.
    """
    import base64

    secret = await api.request("GET", f"/api/v1/namespaces/{namespace}/secrets/{name}")
    data = (secret or {}).get("data") or {}
    if any(key not in data for key in keys):
        return None
    return tuple(base64.b64decode(data[key]).decode("utf-8") for key in keys)


@requires("", "secrets", "get", scope=STORAGE_SECRET_SOURCE)
async def get_storage_secret_source(api: KubeApi, namespace: str, name: str) -> JSON | None:
    """The storage Secret the operator copies into camera namespaces (its own namespace), or None."""
    return await api.request("GET", SECRET.path(namespace, name))


@requires("", "secrets", "get", "create", "patch", scope=STORAGE_SECRET_COPIES)
async def ensure_storage_secret_copy(api: KubeApi, manifest: Mapping[str, Any]) -> Applied:
    """Create or patch a copy of the storage Secret in a camera namespace (its ``data`` replaced whole).

    The result holds the Secret's data: callers report only its :class:`ApplyResult`.
    """
    return await _ensure(api, SECRET, manifest, set())

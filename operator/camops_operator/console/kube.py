"""The console's Kubernetes API calls: one watch on Cameras, TokenReview and SubjectAccessReview.

Through the operator's one HTTP client (:class:`camops_operator.k8s.KubeApi`); every call
declares its permission with ``@requires`` (the chart grants the console's ServiceAccount
exactly these).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from camops_operator.k8s import JSON, KubeApi, KubeError
from camops_workers.kube import requires

__all__ = ["CAMERAS_PATH", "Reviewed", "list_cameras", "may_get_camera", "review_token", "watch_cameras"]

CAMERAS_PATH = "/apis/camops.io/v1alpha1/cameras"


@dataclass(frozen=True)
class Reviewed:
    """Who a token belongs to, as the API server's TokenReview says."""

    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, Sequence[str]] = field(default_factory=dict)


@requires("camops.io", "cameras", "list")
async def list_cameras(api: KubeApi) -> JSON:
    """Every Camera the console's ServiceAccount may list (all namespaces) and the list's resourceVersion."""
    body = await api.request("GET", CAMERAS_PATH)
    return body or {"items": [], "metadata": {}}


@requires("camops.io", "cameras", "watch")
async def watch_cameras(api: KubeApi, resource_version: str, *, timeout_s: int = 300) -> AsyncIterator[JSON]:
    """Watch events after ``resource_version`` until the server ends the watch."""
    params = {"watch": "true", "resourceVersion": resource_version, "timeoutSeconds": str(timeout_s)}
    async for event in api.stream(CAMERAS_PATH, params):
        yield event


@requires("authentication.k8s.io", "tokenreviews", "create")
async def review_token(api: KubeApi, token: str) -> Reviewed | None:
    """The user a bearer token authenticates as, or None when the API server does not accept it."""
    body: dict[str, Any] = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": {"token": token},
    }
    answer = await api.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews", body)
    status = (answer or {}).get("status") or {}
    user = status.get("user") or {}
    if not status.get("authenticated") or not user.get("username"):
        return None
    return Reviewed(
        username=str(user["username"]),
        uid=str(user.get("uid") or ""),
        groups=tuple(str(g) for g in user.get("groups") or ()),
        extra={str(k): [str(x) for x in v] for k, v in (user.get("extra") or {}).items()},
    )


@requires("authorization.k8s.io", "subjectaccessreviews", "create")
async def may_get_camera(api: KubeApi, who: Reviewed, namespace: str, name: str | None = None) -> bool:
    """Whether ``who`` may ``get`` cameras in ``namespace`` (one camera when ``name`` is given)."""
    attributes = {"namespace": namespace, "verb": "get", "group": "camops.io", "resource": "cameras"}
    if name:
        attributes["name"] = name
    spec: dict[str, Any] = {"user": who.username, "groups": list(who.groups), "resourceAttributes": attributes}
    if who.uid:
        spec["uid"] = who.uid
    if who.extra:
        spec["extra"] = {k: list(v) for k, v in who.extra.items()}
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
    try:
        answer = await api.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body)
    except KubeError:
        return False  # no answer is no permission
    return bool(((answer or {}).get("status") or {}).get("allowed"))

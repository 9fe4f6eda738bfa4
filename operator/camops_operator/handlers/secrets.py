"""Secrets a Camera names: find the missing ones before anything depends on them, and say which.

A worker whose Secret is missing never starts (its pod waits for the volume), and a
MediaMTX path written without the camera's credentials would pull from the camera
anonymously. So the Camera's handler checks every Secret the Camera names
(:func:`camops_operator.builders.worker.secret_uses`) on each reconcile; a missing one (or
a missing key) becomes ``SecretNotFound`` on the conditions it blocks, a Warning Event, and a
retry with backoff until it appears. Only key names are read here, never values.
"""

from __future__ import annotations

from camops_operator import k8s
from camops_operator.api.camera import Camera
from camops_operator.builders.worker import SecretUse, secret_uses
from camops_operator.handlers.context import Runtime
from camops_operator.status import SECRET_NOT_FOUND

__all__ = ["SECRET_NOT_FOUND", "SecretNotFoundError", "credentials_for", "describe_missing", "missing_secrets"]


class SecretNotFoundError(Exception):
    """A Secret (or a key in it) the Camera names does not exist; the message names it."""


def describe_missing(namespace: str, use: SecretUse, present: set[str] | None) -> str | None:
    """Why ``use`` cannot be satisfied given the Secret's key names (None: it does not exist), or None."""
    if present is None:
        return f"Secret {namespace}/{use.secret} ({use.field}) does not exist"
    absent = [key for key in use.keys if key not in present]
    if absent:
        return f"Secret {namespace}/{use.secret} ({use.field}) has no key {', '.join(absent)}"
    return None


async def missing_secrets(rt: Runtime, camera: Camera, *, storage: bool = True) -> list[str]:
    """One message per Secret the Camera names that is missing or lacks a key (empty: all there)."""
    api = rt.require_kube()
    known: dict[str, set[str] | None] = {}
    out: list[str] = []
    for use in secret_uses(camera, rt.settings, storage=storage):
        if use.secret not in known:
            known[use.secret] = await k8s.secret_keys(api, camera.namespace, use.secret)
        problem = describe_missing(camera.namespace, use, known[use.secret])
        if problem is not None:
            out.append(problem)
    return out


async def credentials_for(rt: Runtime, camera: Camera) -> tuple[str, str] | None:
    """The camera's username and password for its MediaMTX path; None when it names no Secret.

    Raises :class:`SecretNotFoundError` when it names one that is missing: the path must not be
    written without them.
    """
    ref = camera.spec.source.credentials_secret_ref
    if ref is None:
        return None
    values = await k8s.get_secret_values(
        rt.require_kube(), camera.namespace, ref.name, (ref.username_key, ref.password_key)
    )
    if values is None:
        use = SecretUse("spec.source.credentialsSecretRef", ref.name, (ref.username_key, ref.password_key))
        raise SecretNotFoundError(
            describe_missing(
                camera.namespace, use, await k8s.secret_keys(rt.require_kube(), camera.namespace, ref.name)
            )
            or f"Secret {camera.namespace}/{ref.name} (spec.source.credentialsSecretRef) is incomplete"
        )
    return values[0], values[1]

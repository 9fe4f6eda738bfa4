"""Keep a copy of the storage credentials Secret in every camera namespace the chart names.

With ``CAMOPS_STORAGE_SECRET_SOURCE`` set, a loop beside kopf (like the MediaMTX drift repair)
reads that Secret in the operator's namespace every ``CAMOPS_STORAGE_SECRET_INTERVAL`` and
creates or patches its copy (:func:`camops_operator.builders.storage_secret.build_storage_secret_copy`)
in each of ``CAMOPS_STORAGE_SECRET_NAMESPACES``: a new namespace, a rotated key or a copy deleted
or edited by hand is put right within one interval. Logs name namespaces and Secrets, never values.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from camops_operator import k8s
from camops_operator.builders.storage_secret import build_storage_secret_copy, missing_keys
from camops_operator.handlers.context import Runtime
from camops_workers.redact import redact

__all__ = ["SyncReport", "storage_secret_task", "sync_once"]

log = logging.getLogger("camops.operator")


@dataclass
class SyncReport:
    """What one pass did, by namespace (never the Secret's values)."""

    source_found: bool = False
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


async def sync_once(rt: Runtime) -> SyncReport:
    """One pass: read the source, put its copy right in every namespace."""
    settings = rt.settings
    report = SyncReport()
    name = settings.storage_secret_source
    if not name:
        return report
    api = rt.require_kube()
    source = await k8s.get_storage_secret_source(api, settings.operator_namespace, name)
    if source is None:
        report.errors[settings.operator_namespace] = f"secret {name} not found"
        return report
    missing = missing_keys(source)
    if missing:
        report.errors[settings.operator_namespace] = f"secret {name} has no {', '.join(missing)}"
        return report
    report.source_found = True
    for namespace in settings.storage_secret_namespaces:
        try:
            applied = await k8s.ensure_storage_secret_copy(api, build_storage_secret_copy(source, namespace, settings))
        except (k8s.KubeError, OSError, TimeoutError) as exc:
            report.errors[namespace] = redact(str(exc)) or type(exc).__name__
            continue
        {
            k8s.ApplyResult.CREATED: report.created,
            k8s.ApplyResult.UPDATED: report.updated,
        }.get(applied.result, report.unchanged).append(namespace)
    return report


async def _loop(rt: Runtime) -> None:
    settings = rt.settings
    while rt.kube is None:  # kopf logs in first
        await asyncio.sleep(0.05)
    said: dict[str, str] = {}  # the last error said per namespace: one line per new problem
    while True:
        try:
            report = await sync_once(rt)
        except (k8s.KubeError, OSError, TimeoutError) as exc:
            report = SyncReport(errors={settings.operator_namespace: redact(str(exc)) or type(exc).__name__})
        for namespace in report.created + report.updated:
            log.info(
                "storage secret %s/%s %s from %s/%s",
                namespace,
                settings.storage_secret,
                "created" if namespace in report.created else "updated",
                settings.operator_namespace,
                settings.storage_secret_source,
            )
        for namespace, error in report.errors.items():
            if said.get(namespace) != error:
                log.warning("storage secret copy into %s failed: %s", namespace, error)
        said = dict(report.errors)
        await asyncio.sleep(settings.storage_secret_interval)


@contextlib.asynccontextmanager
async def storage_secret_task(rt: Runtime) -> AsyncIterator[asyncio.Task[None] | None]:
    """Run the copy loop for the duration of the context (nothing without a source Secret)."""
    if not rt.settings.storage_secret_source:
        yield None
        return
    task = asyncio.create_task(_loop(rt), name="camops-storage-secret")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

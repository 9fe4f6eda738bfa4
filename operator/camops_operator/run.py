"""``camops operator``: run the kopf operator with the camops handlers.

Settings come from ``CAMOPS_*`` environment variables (see ``settings.py``).
kopf runs standalone (one replica, Deployment strategy Recreate): no peering
resources, and resource scanning is off, so kopf needs no CRD or namespace
permissions — only what :func:`kopf_permissions` declares.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import Mapping
from typing import Any

import kopf

from camops_operator.handlers import register_all
from camops_operator.handlers.context import Runtime, install
from camops_operator.handlers.drift import drift_task
from camops_operator.handlers.storage_secret import storage_secret_task
from camops_operator.k8s import Connection, KubeApi
from camops_operator.mediamtx import MediaMTXApi
from camops_operator.metrics import Metrics, serve_http
from camops_operator.settings import OperatorSettings, SettingsError
from camops_workers.kube import requires

__all__ = ["configure", "kopf_permissions", "kopf_settings", "main", "serve"]

log = logging.getLogger("camops.operator")


@requires("camops.io", "cameras", "get", "list", "watch", "patch")
@requires("camops.io", "cameras/status", "get", "patch")
@requires("camops.io", "retentionpolicies", "get", "list", "watch", "patch")
@requires("camops.io", "retentionpolicies/status", "get", "patch")
@requires("", "events", "create")
def kopf_permissions() -> None:
    """What kopf itself calls: watch both kinds, patch them (finalizers, progress, status), post Events."""


def kopf_settings(settings: OperatorSettings) -> kopf.OperatorSettings:
    ks = kopf.OperatorSettings()
    ks.peering.standalone = True
    ks.scanning.disabled = True
    ks.posting.level = logging.WARNING  # Events are posted explicitly on condition transitions
    ks.watching.server_timeout = 300
    ks.watching.client_timeout = 330
    ks.networking.request_timeout = 30
    ks.persistence.finalizer = "camops.io/finalizer"
    ks.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="camops.io")
    ks.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="camops.io", key="last-handled-configuration"
    )
    return ks


def _file(data: str | bytes | None) -> str | None:
    if not data:
        return None
    with tempfile.NamedTemporaryFile("wb", delete=False, prefix="camops-kube-") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
        return handle.name


def _connection(info: kopf.ConnectionInfo) -> Connection:
    ca_data = info.ca_data.encode() if isinstance(info.ca_data, str) else info.ca_data
    return Connection(
        server=info.server,
        token=info.token,
        ca_path=os.fsdecode(info.ca_path) if info.ca_path else None,
        ca_data=ca_data,
        insecure=bool(info.insecure),
        certificate_path=os.fsdecode(info.certificate_path) if info.certificate_path else _file(info.certificate_data),
        private_key_path=os.fsdecode(info.private_key_path) if info.private_key_path else _file(info.private_key_data),
    )


def _register_login(registry: kopf.OperatorRegistry, rt: Runtime) -> None:
    async def login(settings: kopf.OperatorSettings, logger: Any, **_: Any) -> kopf.ConnectionInfo | None:
        info = kopf.login_with_service_account(settings=settings, logger=logger) or kopf.login_with_kubeconfig(
            settings=settings, logger=logger
        )
        if info is None:
            return None
        if rt.kube is not None:
            await rt.kube.close()
        rt.kube = KubeApi(_connection(info))
        return info

    kopf.on.login(registry=registry, id="camops-login")(login)


async def serve(
    settings: OperatorSettings,
    *,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
    metrics: Metrics | None = None,
) -> None:
    """Run the operator until ``stop`` is set (or forever)."""
    rt = Runtime(settings=settings, metrics=metrics or Metrics())
    if settings.mediamtx_api_url:
        password = settings.mediamtx_password.get_secret_value() if settings.mediamtx_password else None
        rt.mediamtx = MediaMTXApi(
            settings.mediamtx_api_url,
            username=settings.mediamtx_username,
            password=password,
            timeout_s=settings.mediamtx_timeout,
        )
    install(rt)
    registry = register_all(settings)
    _register_login(registry, rt)
    try:
        async with contextlib.AsyncExitStack() as stack:
            if settings.http_port:
                port = await stack.enter_async_context(serve_http(rt.metrics, settings.http_port))
                log.info("operator /healthz and /metrics on port %d", port)
            if rt.mediamtx is not None:
                await stack.enter_async_context(drift_task(rt))
            await stack.enter_async_context(storage_secret_task(rt))
            await kopf.operator(
                registry=registry,
                settings=kopf_settings(settings),
                standalone=True,
                clusterwide=not settings.namespaces,
                namespaces=list(settings.namespaces),
                stop_flag=stop,
                ready_flag=ready,
            )
    finally:
        if rt.kube is not None:
            await rt.kube.close()
        if rt.mediamtx is not None:
            await rt.mediamtx.close()
        install(None)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--namespace",
        action="append",
        default=None,
        help="watch only this namespace (repeatable); default: CAMOPS_NAMESPACES, else all",
    )


def main(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    environ = dict(os.environ if env is None else env)
    if args.namespace:
        environ["CAMOPS_NAMESPACES"] = ",".join(args.namespace)
    try:
        settings = OperatorSettings.from_env(environ)
    except SettingsError as exc:
        print(f"camops operator: invalid settings: {exc}")
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        return 130
    return 0

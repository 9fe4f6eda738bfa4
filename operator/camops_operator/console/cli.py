"""``camops console [--listen ADDR] [--kubeconfig FILE] [--trust-proxy-headers]``: the web console in a cluster.

Follows every Camera with one watch, reads objects through the storage API with the
credentials in ``$CAMOPS_STORAGE_ACCESS_KEY``/``$CAMOPS_STORAGE_SECRET_KEY`` (endpoint, bucket,
region from the operator's ``CAMOPS_STORAGE_*`` settings) and lets each user see the
cameras Kubernetes RBAC lets them ``get``. See docs/console.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from camops_operator.console.app import ConsoleApp, make_app
from camops_operator.console.authz import KubeAuthorizer
from camops_operator.console.cluster_feed import follow_cameras
from camops_operator.console.fleet import Fleet
from camops_operator.console.serve import split_address
from camops_operator.k8s import Connection, KubeApi
from camops_operator.settings import OperatorSettings, SettingsError
from camops_workers.contract import CredentialRef, StorageConfig

__all__ = ["configure", "connection_from_config", "main", "serve", "storage_defaults"]

log = logging.getLogger("camops.console")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", default="127.0.0.1:8080", metavar="ADDR", help="address to serve on")
    parser.add_argument("--kubeconfig", type=Path, default=None, help="kubeconfig (default: in-cluster, then ~/.kube)")
    parser.add_argument(
        "--trust-proxy-headers",
        action="store_true",
        help="take the user and groups from an authenticating proxy's headers (oauth2-proxy); "
        "only when nothing but that proxy can reach the console",
    )
    parser.add_argument("--user-header", default="X-Forwarded-User")
    parser.add_argument("--groups-header", default="X-Forwarded-Groups")


def connection_from_config(kubeconfig: Path | None) -> Connection:
    """The API server and credentials from the pod's ServiceAccount, else a kubeconfig."""
    from kubernetes import client, config

    cfg = client.Configuration()
    loader: Any = config
    try:
        if kubeconfig is not None:
            raise config.ConfigException("kubeconfig given")
        loader.load_incluster_config(client_configuration=cfg)
    except config.ConfigException:
        loader.load_kube_config(config_file=str(kubeconfig) if kubeconfig else None, client_configuration=cfg)
    token = (cfg.api_key or {}).get("authorization", "") or (cfg.api_key or {}).get("BearerToken", "")
    return Connection(
        server=str(cfg.host),
        token=token.removeprefix("Bearer ").strip() or None,
        ca_path=cfg.ssl_ca_cert or None,
        insecure=not cfg.verify_ssl,
        certificate_path=cfg.cert_file or None,
        private_key_path=cfg.key_file or None,
    )


def storage_defaults(env: Mapping[str, str]) -> StorageConfig | None:
    """The store Cameras write to by default (their spec.storage overrides bucket, endpoint, prefix, layout)."""
    settings = OperatorSettings.from_env(env)
    if not settings.storage_endpoint:
        return None
    return StorageConfig(
        kind="s3",
        endpoint=settings.storage_endpoint,
        secure=settings.storage_secure,
        region=settings.storage_region,
        bucket=settings.storage_bucket,
        create_bucket=False,
        access_key=CredentialRef(env="CAMOPS_STORAGE_ACCESS_KEY"),
        secret_key=CredentialRef(env="CAMOPS_STORAGE_SECRET_KEY"),
    )


async def serve(
    api: KubeApi,
    storage: StorageConfig | None,
    host: str,
    port: int,
    *,
    authorizer: KubeAuthorizer,
    stop: asyncio.Event,
    started: asyncio.Future[int] | None = None,
) -> None:
    """Follow Cameras and serve until ``stop`` is set; ``started`` gets the port once listening."""
    fleet = Fleet()
    feed = asyncio.create_task(follow_cameras(api, fleet, storage, stop))
    runner = web.AppRunner(make_app(ConsoleApp(fleet, authorizer)), shutdown_timeout=2.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        bound = int(sockets[0].getsockname()[1]) if sockets else port
        log.info("console: serving on %s:%s", host, bound)
        if started is not None and not started.done():
            started.set_result(bound)
        await stop.wait()
    finally:
        stop.set()
        feed.cancel()
        await asyncio.gather(feed, return_exceptions=True)
        await runner.cleanup()


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        host, port = split_address(args.listen)
        storage = storage_defaults(os.environ)
    except (ValueError, SettingsError) as exc:
        print(f"camops console: {exc}", file=sys.stderr)
        return 2
    connection = connection_from_config(args.kubeconfig)

    async def run() -> None:
        api = KubeApi(connection)
        authorizer = KubeAuthorizer(
            api, trust_proxy=args.trust_proxy_headers, user_header=args.user_header, groups_header=args.groups_header
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):  # a pod's stop: close the streams and the watch cleanly
            loop.add_signal_handler(sig, stop.set)
        try:
            await serve(api, storage, host, port, authorizer=authorizer, stop=stop)
        finally:
            await api.close()

    asyncio.run(run())
    return 0

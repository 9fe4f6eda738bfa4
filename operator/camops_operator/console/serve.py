"""Run the console: in its own thread beside ``camops local``, or as the ``camops console`` process."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import threading
from collections.abc import Callable, Sequence

from aiohttp import web

from camops_operator.console.app import ConsoleApp, make_app
from camops_operator.console.authz import LocalAuthorizer
from camops_operator.console.fleet import Fleet
from camops_operator.console.local_feed import follow_views
from camops_operator.local.plan import PlannedCamera
from camops_operator.local.status import CameraView

__all__ = ["DEFAULT_LOCAL_ADDRESS", "LocalConsole", "is_loopback", "split_address"]

log = logging.getLogger("camops.console")

DEFAULT_LOCAL_ADDRESS = "127.0.0.1:8080"


def split_address(text: str, default_port: int = 8080) -> tuple[str, int]:
    """``host:port``, ``:port``, ``[::1]:port`` or ``port`` → (host, port); ValueError when unusable."""
    value = text.strip()
    if value.isdigit():
        return "127.0.0.1", int(value)
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        host, sep, port = value.rpartition(":")
        if not sep:
            host, port = value, ""
    number = int(port) if port else default_port
    if not 0 <= number <= 65535:
        raise ValueError(f"invalid port in {text!r}")
    return host or "127.0.0.1", number


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LocalConsole:
    """The console of a ``camops local`` run: loopback only, fed by the runner's views."""

    def __init__(self, views: Callable[[], Sequence[CameraView]], planned: Sequence[PlannedCamera], address: str):
        self.host, self.port = split_address(address)
        if not is_loopback(self.host):
            raise ValueError(f"camops local serves its console on loopback only, not on {self.host}")
        self._views = views
        self._planned = list(planned)
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.error: str | None = None
        self.fleet: Fleet | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self, timeout_s: float = 10.0) -> bool:
        """Start serving; False (and ``error`` says why) when the address cannot be used."""
        self._thread = threading.Thread(target=self._run, name="console", daemon=True)
        self._thread.start()
        self._ready.wait(timeout_s)
        return self.error is None and self._ready.is_set()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:  # noqa: BLE001 - the console is optional: capture goes on without it
            self.error = str(exc)
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.fleet = Fleet()
        feed = asyncio.create_task(follow_views(self._views, self._planned, self.fleet, self._stop))
        app = make_app(ConsoleApp(self.fleet, LocalAuthorizer()), loopback_only=True)
        runner = web.AppRunner(app, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            try:
                await site.start()
            except OSError as exc:
                self.error = f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
                self._ready.set()
                return
            if self.port == 0:
                sockets = getattr(site._server, "sockets", None) or []
                if sockets:
                    self.port = int(sockets[0].getsockname()[1])
            self._ready.set()
            await self._stop.wait()
        finally:
            self._stop.set()
            await feed
            await runner.cleanup()

    def stop(self, timeout_s: float = 5.0) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout_s)

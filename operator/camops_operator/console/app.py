"""The console's HTTP server (aiohttp): pages, live updates (server-sent events) and objects.

Routes::

    GET  /                                     the wall (filters in the query string)
    GET  /events                               live tile changes (text/event-stream)
    GET  /cameras/{ns}/{name}                  a camera's page
    GET  /cameras/{ns}/{name}/thumb.jpg        its newest thumbnail (latest.thumb.jpg)
    GET  /cameras/{ns}/{name}/days/{day}.json  one day's snapshots, segments, analysis
    GET  /cameras/{ns}/{name}/objects/{key}    one of its objects (proxied; Range supported)
    GET|POST /login, POST /logout              the bearer-token cookie (cluster)
    GET  /healthz

Every camera route asks the authorizer first; a camera the viewer may not see is a 404, the
same as one that does not exist. Objects are read through the store's API on the server: the
browser never holds storage credentials.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

from aiohttp import web

from camops_operator.console.authz import COOKIE, Authorizer, KubeAuthorizer, Viewer
from camops_operator.console.fleet import CameraRecord, Change, Fleet
from camops_operator.console.objects import day_items, days, object_key_for
from camops_operator.console.render import Filters, camera_page, login_page, render_tile, wall_page
from camops_operator.console.tiles import Tile, arrange
from camops_workers.contract import StorageConfig
from camops_workers.storage.base import ObjectStore, StorageError, TransientStorageError
from camops_workers.storage.factory import open_store

__all__ = ["ConsoleApp", "make_app"]

log = logging.getLogger("camops.console")

FLEET: web.AppKey[Fleet] = web.AppKey("fleet", Fleet)

_TYPES = {".jpg": "image/jpeg", ".mp4": "video/mp4", ".json": "application/json"}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_SECURITY = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; media-src 'self'; object-src 'none'",
}
#: Recently served segments kept in memory (bytes), for the range requests of one playback.
SEGMENT_CACHE_BYTES = 128 * 1024 * 1024
#: A quiet event stream sends a comment this often (proxies close idle connections).
KEEPALIVE_S = 15.0


class ConsoleApp:
    """The handlers, bound to a fleet, an authorizer and a clock."""

    def __init__(
        self, fleet: Fleet, authorizer: Authorizer, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.fleet = fleet
        self.authorizer = authorizer
        self.clock = clock
        self._stores: dict[str, ObjectStore] = {}
        #: a <video> asks for a segment in several byte ranges: the store is read once, not per range
        self._segments = _Recent(SEGMENT_CACHE_BYTES)

    # -- helpers -------------------------------------------------------------------

    async def _viewer(self, request: web.Request) -> Viewer:
        viewer = await self.authorizer.viewer(request)
        if viewer is None:
            if request.path.startswith("/cameras/") or request.path == "/events":
                raise web.HTTPUnauthorized(text="sign in with a bearer token", headers={"WWW-Authenticate": "Bearer"})
            raise web.HTTPFound("/login")
        return viewer

    async def visible(self, viewer: Viewer, tiles: list[Tile]) -> list[Tile]:
        if viewer.everything:
            return tiles
        allowed = await asyncio.gather(*(self.authorizer.may_get(viewer, t.namespace, t.name) for t in tiles))
        return [t for t, ok in zip(tiles, allowed, strict=True) if ok]

    async def _record(self, request: web.Request) -> CameraRecord:
        viewer = await self._viewer(request)
        namespace, name = request.match_info["ns"], request.match_info["name"]
        record = self.fleet.get(namespace, name)
        if record is None or not await self.authorizer.may_get(viewer, namespace, name):
            raise web.HTTPNotFound(text="no such camera")
        return record

    def _store(self, storage: StorageConfig) -> ObjectStore:
        key = storage.model_dump_json()
        store = self._stores.get(key)
        if store is None:
            store = self._stores[key] = open_store(storage)
        return store

    # -- pages ---------------------------------------------------------------------

    async def wall(self, request: web.Request) -> web.Response:
        viewer = await self._viewer(request)
        q = request.query
        filters = Filters(q.get("namespace", ""), q.get("label", ""), q.get("state", ""), q.get("q", ""))
        version = self.fleet.version
        mine = await self.visible(viewer, self.fleet.tiles())
        shown = arrange(mine, **filters.as_kwargs())
        namespaces = sorted({t.namespace for t in mine})
        user = "" if viewer.everything else viewer.name
        html = wall_page(shown, len(mine), namespaces, filters, self.clock(), user=user, version=version)
        resp = web.Response(text=html, content_type="text/html", headers={**_SECURITY, "Cache-Control": "no-store"})
        if len(html) > 16_384:
            resp.enable_compression()  # a 1000-camera wall is ~470 KB of HTML, ~10x smaller gzipped
        return resp

    async def camera(self, request: web.Request) -> web.Response:
        record = await self._record(request)
        found: list[str] = []
        if record.storage is not None:
            try:
                found = await asyncio.to_thread(days, self._store(record.storage), record.prefix, record.layout)
            except StorageError:
                found = []
        html = camera_page(record, found, self.clock())
        return web.Response(text=html, content_type="text/html", headers={**_SECURITY, "Cache-Control": "no-store"})

    async def day(self, request: web.Request) -> web.Response:
        record = await self._record(request)
        try:
            when = date.fromisoformat(request.match_info["day"])
        except ValueError:
            raise web.HTTPNotFound(text="no such day") from None
        if record.storage is None:
            raise web.HTTPNotFound(text="no store")
        try:
            items = await asyncio.to_thread(day_items, self._store(record.storage), record.prefix, record.layout, when)
        except TransientStorageError as exc:
            raise _storage_unavailable(exc) from None
        except StorageError:
            raise web.HTTPBadGateway(text="storage refused the listing") from None
        return web.Response(
            text=items.model_dump_json(), content_type="application/json", headers={"Cache-Control": "no-store"}
        )

    async def thumb(self, request: web.Request) -> web.StreamResponse:
        """``latest.thumb.jpg``; from a worker that writes none yet (an older image), ``latest.jpg``."""
        try:
            return await self._object(request, "latest.thumb.jpg", cache="private, max-age=86400")
        except web.HTTPNotFound:
            return await self._object(request, "latest.jpg", cache="private, max-age=60")

    async def obj(self, request: web.Request) -> web.StreamResponse:
        return await self._object(request, request.match_info["key"], cache="private, max-age=3600")

    async def _object(self, request: web.Request, relative: str, *, cache: str) -> web.StreamResponse:
        record = await self._record(request)
        if record.storage is None:
            raise web.HTTPNotFound(text="no store")
        try:
            key = object_key_for(record.prefix, relative)
        except ValueError:
            raise web.HTTPNotFound(text="no such object") from None
        ext = "." + relative.rsplit(".", 1)[-1]
        if ext not in _TYPES:
            raise web.HTTPNotFound(text="no such object")
        cache_key = (record.storage.model_dump_json(), key)
        data = self._segments.get(cache_key) if ext == ".mp4" else None
        if data is None:
            try:
                data = await asyncio.to_thread(self._store(record.storage).get, key)
            except TransientStorageError as exc:
                raise _storage_unavailable(exc) from None
            except StorageError:
                raise web.HTTPNotFound(text="no such object") from None
            if ext == ".mp4":
                self._segments.put(cache_key, data)
        headers = {**_SECURITY, "Cache-Control": cache, "Accept-Ranges": "bytes"}
        return _ranged(request, data, _TYPES[ext], headers)

    # -- live updates ------------------------------------------------------------------

    async def events(self, request: web.Request) -> web.StreamResponse:
        viewer = await self._viewer(request)
        q = request.query
        filters = Filters(q.get("namespace", ""), q.get("label", ""), q.get("state", ""), q.get("q", ""))
        since_text = request.headers.get("Last-Event-ID") or q.get("since", "")
        since = int(since_text) if since_text.isdigit() else self.fleet.version
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )
        await resp.prepare(request)
        with self.fleet.subscribe() as sub:
            await resp.write(b"retry: 2000\nevent: hello\ndata: {}\n\n")
            for change in self.fleet.changes_since(since):
                await self._send(resp, viewer, filters, change)
            while not sub.reset.is_set():
                try:
                    change = await asyncio.wait_for(sub.queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    await resp.write(b": keepalive\n\n")
                    continue
                if change.version > since:
                    await self._send(resp, viewer, filters, change)
            await resp.write(b"event: reset\ndata: {}\n\n")
        return resp

    async def _send(self, resp: web.StreamResponse, viewer: Viewer, filters: Filters, change: Change) -> None:
        tile = change.tile
        name = change.key.partition("/")[2]
        if not await self.authorizer.may_get(viewer, change.namespace, name):
            return  # never say anything about a camera the viewer may not see
        shown = tile is not None and bool(arrange([tile], **filters.as_kwargs()))
        payload: dict[str, Any] = {"key": change.key}
        if shown and tile is not None:
            payload |= {"health": tile.health.value, "html": render_tile(tile, self.clock())}
            kind = "tile"
        else:
            kind = "remove"
        data = json.dumps(payload, separators=(",", ":"))
        await resp.write(f"id: {change.version}\nevent: {kind}\ndata: {data}\n\n".encode())

    # -- sign-in -------------------------------------------------------------------------

    async def login_form(self, request: web.Request) -> web.Response:
        del request
        return web.Response(text=login_page(), content_type="text/html", headers=_SECURITY)

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        token = str(form.get("token", "")).strip()
        if not token or not isinstance(self.authorizer, KubeAuthorizer) or await self.authorizer._review(token) is None:
            return web.Response(
                text=login_page("That token was not accepted."), content_type="text/html", status=401, headers=_SECURITY
            )
        resp = web.HTTPFound("/")
        secure = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
        resp.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=secure, path="/")
        raise resp

    async def logout(self, request: web.Request) -> web.Response:
        del request
        resp = web.HTTPFound("/login")
        resp.del_cookie(COOKIE, path="/")
        raise resp

    async def healthz(self, request: web.Request) -> web.Response:
        del request
        return web.Response(text=f"ok {len(self.fleet)} cameras\n")

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["file"]
        types = {"console.js": "text/javascript", "console.css": "text/css"}
        if name not in types:
            raise web.HTTPNotFound()
        text = resources.files("camops_operator.console").joinpath("static", name).read_text(encoding="utf-8")
        resp = web.Response(text=text, content_type=types[name], headers={"Cache-Control": "public, max-age=300"})
        resp.enable_compression()
        return resp


class _Recent:
    """The most recently used objects up to ``limit`` bytes in all."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple[str, str]) -> bytes | None:
        data = self._items.get(key)
        if data is not None:
            self._items.move_to_end(key)
        return data

    def put(self, key: tuple[str, str], data: bytes) -> None:
        if len(data) > self.limit:
            return
        old = self._items.pop(key, None)
        self._bytes += len(data) - (len(old) if old else 0)
        self._items[key] = data
        while self._bytes > self.limit:
            _, dropped = self._items.popitem(last=False)
            self._bytes -= len(dropped)


def _storage_unavailable(exc: TransientStorageError) -> web.HTTPServiceUnavailable:
    """503 with a Retry-After: storage is away for now; the body names no endpoint and no credentials."""
    log.warning("console: storage unavailable (%s)", exc.reason)
    return web.HTTPServiceUnavailable(
        text="storage is unavailable right now; try again shortly\n", headers={"Retry-After": "5"}
    )


def _ranged(request: web.Request, data: bytes, content_type: str, headers: dict[str, str]) -> web.Response:
    """The whole object, or the one byte range asked for (``<video>`` seeks with ranges)."""
    match = _RANGE.match(request.headers.get("Range", ""))
    size = len(data)
    if not match or not (match.group(1) or match.group(2)):
        return web.Response(body=data, content_type=content_type, headers=headers)
    first, last = match.groups()
    if first:
        start, end = int(first), min(int(last) if last else size - 1, size - 1)
    else:
        start, end = max(0, size - int(last)), size - 1
    if start >= size or start > end:
        return web.Response(status=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    return web.Response(
        status=206,
        body=data[start : end + 1],
        content_type=content_type,
        headers={**headers, "Content-Range": f"bytes {start}-{end}/{size}"},
    )


def loopback_hosts_only() -> Any:
    """Middleware for a loopback console: answer only requests addressed to a loopback name.

    A web page elsewhere can point a name it controls at 127.0.0.1 (DNS rebinding) and read
    what a loopback server answers; such requests carry that name in ``Host`` and are refused."""

    @web.middleware
    async def check(request: web.Request, handler: Any) -> web.StreamResponse:
        host = (request.host or "").lower()
        name = host[1:].partition("]")[0] if host.startswith("[") else host.rpartition(":")[0] or host
        if name not in {"localhost", "127.0.0.1", "::1"} and not name.startswith("127."):
            raise web.HTTPMisdirectedRequest(text="this console answers only on its loopback address")
        result: web.StreamResponse = await handler(request)
        return result

    return check


def make_app(console: ConsoleApp, *, loopback_only: bool = False) -> web.Application:
    app = web.Application(middlewares=[loopback_hosts_only()] if loopback_only else [])
    app[FLEET] = console.fleet
    routes = [
        web.get("/", console.wall),
        web.get("/events", console.events),
        web.get("/login", console.login_form),
        web.post("/login", console.login),
        web.post("/logout", console.logout),
        web.get("/healthz", console.healthz),
        web.get("/static/{file}", console.static),
        web.get("/cameras/{ns}/{name}", console.camera),
        web.get("/cameras/{ns}/{name}/thumb.jpg", console.thumb),
        web.get(r"/cameras/{ns}/{name}/days/{day}.json", console.day),
        web.get(r"/cameras/{ns}/{name}/objects/{key:.+}", console.obj),
    ]
    app.add_routes(routes)
    return app

"""A MediaMTX stand-in: the control API v3 path-configuration endpoints, validated against the spec.

Serves ``/v3/config/paths/{list,get,add,patch,replace,delete}`` on 127.0.0.1
from memory, like MediaMTX does (API changes live in memory only). Every
request body and every response is validated against MediaMTX's published
OpenAPI document (``/work/shared/reference/mediamtx/openapi.yaml``, copied to
``tests/servers/mediamtx-openapi.yaml`` when present there), with unknown fields
rejected as MediaMTX rejects them. Validation failures answer 400 and are
recorded in ``violations`` so a test can assert none happened.

``wipe()`` forgets every path (a MediaMTX restart); ``stop()``/``start()`` make
it unreachable and back on the same port.
"""

from __future__ import annotations

import copy
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest_asyncio
import yaml
from aiohttp import web
from referencing import Registry
from referencing.jsonschema import DRAFT7

__all__ = ["MediaMTXStandIn", "mediamtx_server", "openapi_document"]

SPEC_CANDIDATES = (
    Path(__file__).with_name("mediamtx-openapi.yaml"),
    Path("/work/shared/reference/mediamtx/openapi.yaml"),
)
SPEC_URI = "urn:mediamtx-openapi"


def _to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects → JSON Schema (``nullable``; closed objects)."""
    if isinstance(node, list):
        return [_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_jsonschema(v) for k, v in node.items() if k not in {"nullable", "example"}}
    if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


@cache
def openapi_document() -> dict[str, Any]:
    """MediaMTX's OpenAPI document (the repository's copy, else the shared reference)."""
    for candidate in SPEC_CANDIDATES:
        if candidate.exists():
            loaded: dict[str, Any] = yaml.safe_load(candidate.read_text(encoding="utf-8"))
            return loaded
    raise FileNotFoundError(f"MediaMTX OpenAPI spec not found in {[str(c) for c in SPEC_CANDIDATES]}")


@cache
def _registry() -> Registry[Any]:
    doc = {"components": _to_jsonschema(openapi_document()["components"])}
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, DRAFT7.create_resource(doc))
    return registry


def _errors(schema_name: str, value: Any) -> list[str]:
    validator = jsonschema.Draft7Validator(
        {"$ref": f"{SPEC_URI}#/components/schemas/{schema_name}"}, registry=_registry()
    )
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in validator.iter_errors(value)
    ]


@dataclass
class MediaMTXStandIn:
    """The running stand-in: ``api_url`` for the operator, ``paths`` for assertions."""

    host: str = "127.0.0.1"
    port: int = 0
    username: str | None = None
    password: str | None = None
    paths: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def wipe(self) -> None:
        """Forget every path, as a restarted MediaMTX does."""
        self.paths.clear()

    # --- HTTP plumbing -------------------------------------------------------------------------

    def _reply(self, schema: str, body: dict[str, Any], status: int = 200) -> web.Response:
        problems = _errors(schema, body)
        if problems:
            self.violations.extend(f"response {schema}: {p}" for p in problems)
        return web.json_response(body, status=status)

    def _error(self, status: int, message: str) -> web.Response:
        return self._reply("Error", {"status": "error", "error": message}, status)

    def _ok(self) -> web.Response:
        return self._reply("OK", {"status": "ok"})

    def _authorized(self, request: web.Request) -> bool:
        if self.username is None:
            return True
        auth = request.headers.get("Authorization", "")
        import base64

        expected = "Basic " + base64.b64encode(f"{self.username}:{self.password or ''}".encode()).decode()
        return auth == expected

    async def _body(self, request: web.Request) -> dict[str, Any] | web.Response:
        try:
            body = await request.json()
        except ValueError:
            self.violations.append(f"{request.method} {request.path}: body is not JSON")
            return self._error(400, "invalid JSON")
        problems = _errors("PathConf", body)
        if problems:
            self.violations.extend(f"{request.method} {request.path}: {p}" for p in problems)
            return self._error(400, "; ".join(problems))
        return dict(body)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if not self._authorized(request):
            return self._error(401, "authentication error")
        result: web.StreamResponse = await handler(request)
        return result

    # --- endpoints -----------------------------------------------------------------------------

    async def _list(self, request: web.Request) -> web.Response:
        try:
            page = int(request.query.get("page", "0"))
            per_page = int(request.query.get("itemsPerPage", "100"))
        except ValueError:
            self.violations.append(f"list: non-integer paging {dict(request.query)}")
            return self._error(400, "invalid paging")
        if page < 0 or per_page < 1:
            return self._error(400, "invalid paging")
        names = sorted(self.paths)
        items = [copy.deepcopy(self.paths[n]) for n in names[page * per_page : (page + 1) * per_page]]
        return self._reply(
            "PathConfList", {"itemCount": len(names), "pageCount": math.ceil(len(names) / per_page), "items": items}
        )

    async def _get(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.paths:
            return self._error(404, "path configuration not found")
        return self._reply("PathConf", copy.deepcopy(self.paths[name]))

    async def _add(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        if name in self.paths:
            return self._error(400, "path configuration already exists")
        self.paths[name] = {**body, "name": name}
        return self._ok()

    async def _patch(self, request: web.Request) -> web.Response:
        return await self._update(request, merge=True)

    async def _replace(self, request: web.Request) -> web.Response:
        return await self._update(request, merge=False)

    async def _update(self, request: web.Request, *, merge: bool) -> web.Response:
        """PATCH merges the body into the existing path; replace (POST) swaps it whole."""
        name = request.match_info["name"]
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        if name not in self.paths:
            return self._error(404, "path configuration not found")
        base = self.paths[name] if merge else {}
        self.paths[name] = {**base, **body, "name": name}
        return self._ok()

    async def _delete(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if self.paths.pop(name, None) is None:
            return self._error(404, "path configuration not found")
        return self._ok()

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen (again) — on the same port after a :meth:`stop`."""
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/v3/config/paths/list", self._list)
        app.router.add_get("/v3/config/paths/get/{name}", self._get)
        app.router.add_post("/v3/config/paths/add/{name}", self._add)
        app.router.add_patch("/v3/config/paths/patch/{name}", self._patch)
        app.router.add_post("/v3/config/paths/replace/{name}", self._replace)
        app.router.add_delete("/v3/config/paths/delete/{name}", self._delete)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        server: Any = site._server
        self.port = int(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening (MediaMTX unreachable); the paths stay unless wiped."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@pytest_asyncio.fixture()
async def mediamtx_server() -> AsyncIterator[MediaMTXStandIn]:
    """A running MediaMTX stand-in; fails the test if any request or answer broke the spec."""
    server = MediaMTXStandIn()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
    assert not server.violations, f"MediaMTX API spec violations: {server.violations}"

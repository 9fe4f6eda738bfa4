"""The operator's only MediaMTX caller: path configuration through the control API v3.

MediaMTX keeps API changes in memory only, so the operator re-applies desired
paths on a timer (see ``handlers.drift``). Errors are sorted for the caller:
:class:`MediaMTXUnavailableError` (connection refused, timeout, 5xx — retry later)
and :class:`MediaMTXRejectedError` (4xx other than 404 — the configuration is wrong).
Messages never carry credentials: URLs are redacted.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from camops_workers.redact import redact

__all__ = ["MediaMTXApi", "MediaMTXError", "MediaMTXRejectedError", "MediaMTXUnavailableError"]

PAGE_SIZE = 100
#: Bound on pages read by one listing (100 x 1000 paths).
MAX_PAGES = 1000


class MediaMTXError(Exception):
    """A MediaMTX API call failed."""


class MediaMTXUnavailableError(MediaMTXError):
    """MediaMTX did not answer usefully (down, timing out, 5xx): try again later."""


class MediaMTXRejectedError(MediaMTXError):
    """MediaMTX refused the request (4xx): the path configuration is not acceptable."""


class MediaMTXApi:
    """Async client for ``/v3/config/paths/*``."""

    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        auth = httpx.BasicAuth(username, password or "") if username else None
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            auth=auth,
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
            limits=httpx.Limits(max_connections=16),
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def _call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        try:
            resp = await self._client.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            raise MediaMTXUnavailableError(redact(f"{method} {path}: {type(exc).__name__}: {exc}")) from None
        if resp.status_code == 404:
            return None
        if resp.status_code >= 500:
            raise MediaMTXUnavailableError(redact(f"{method} {path}: HTTP {resp.status_code}: {resp.text[:200]}"))
        if resp.status_code >= 400:
            raise MediaMTXRejectedError(redact(f"{method} {path}: HTTP {resp.status_code}: {resp.text[:200]}"))
        return resp.json() if resp.content else {}

    @staticmethod
    def _name(name: str) -> str:
        return quote(name, safe="")

    async def get_path(self, name: str) -> dict[str, Any] | None:
        """The path's configuration, or None when MediaMTX does not know it."""
        result = await self._call("GET", f"/v3/config/paths/get/{self._name(name)}")
        return result if isinstance(result, dict) else None

    async def add_path(self, name: str, conf: dict[str, Any]) -> None:
        await self._call("POST", f"/v3/config/paths/add/{self._name(name)}", _body(conf))

    async def patch_path(self, name: str, conf: dict[str, Any]) -> bool:
        """Patch the path; False when it does not exist."""
        return await self._call("PATCH", f"/v3/config/paths/patch/{self._name(name)}", _body(conf)) is not None

    async def replace_path(self, name: str, conf: dict[str, Any]) -> bool:
        """Replace all of the path's values; False when it does not exist."""
        return await self._call("POST", f"/v3/config/paths/replace/{self._name(name)}", _body(conf)) is not None

    async def delete_path(self, name: str) -> bool:
        """Remove the path; False when it was already gone."""
        return await self._call("DELETE", f"/v3/config/paths/delete/{self._name(name)}") is not None

    async def list_paths(self) -> dict[str, dict[str, Any]]:
        """Every configured path by name (all pages)."""
        out: dict[str, dict[str, Any]] = {}
        for page in range(MAX_PAGES):
            result = await self._call("GET", "/v3/config/paths/list", params={"page": page, "itemsPerPage": PAGE_SIZE})
            if not isinstance(result, dict):
                break
            for item in result.get("items") or []:
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    out[item["name"]] = item
            if page + 1 >= int(result.get("pageCount") or 0):
                break
        return out

    async def ensure_path(self, name: str, conf: dict[str, Any], current: dict[str, Any] | None = None) -> str:
        """Add the path, or patch it when its managed fields differ: "added", "patched" or "unchanged"."""
        live = current if current is not None else await self.get_path(name)
        if live is None:
            try:
                await self.add_path(name, conf)
            except MediaMTXRejectedError:
                if await self.patch_path(name, conf):  # added meanwhile (by the drift timer)
                    return "patched"
                raise
            return "added"
        if all(live.get(k) == v for k, v in conf.items() if k != "name"):
            return "unchanged"
        if not await self.patch_path(name, conf):
            await self.add_path(name, conf)
            return "added"
        return "patched"


def _body(conf: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in conf.items() if k != "name"}

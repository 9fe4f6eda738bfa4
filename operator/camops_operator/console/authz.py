"""Who may see which camera.

Local mode trusts the loopback user with everything. In a cluster nobody is trusted by
default: a request carries a bearer token (``Authorization`` header or the sign-in cookie)
that the API server reviews (TokenReview), or — only when the console is told to trust an
authenticating proxy such as oauth2-proxy — the user and groups that proxy sets. Then a
SubjectAccessReview asks whether that user may ``get`` ``cameras`` in the namespace (or, failing
that, the one camera). Answers are cached briefly; tokens are kept only as hashes.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from camops_operator.console.kube import Reviewed, may_get_camera, review_token
from camops_operator.k8s import KubeApi, KubeError

__all__ = ["COOKIE", "Authorizer", "KubeAuthorizer", "LocalAuthorizer", "Viewer"]

COOKIE = "camops_token"
#: How long a token's review and a permission answer are reused.
TOKEN_TTL_S = 60.0
ACCESS_TTL_S = 30.0


@dataclass(frozen=True)
class Viewer:
    name: str
    who: Reviewed | None = None
    everything: bool = False


class Authorizer(Protocol):
    async def viewer(self, request: web.Request) -> Viewer | None:
        """Who makes the request, or None when nobody is signed in (or the token is refused)."""
        ...

    async def may_get(self, viewer: Viewer, namespace: str, name: str) -> bool:
        """Whether ``viewer`` may see the camera ``namespace/name``."""
        ...


class LocalAuthorizer:
    """``camops local``: the console listens on loopback only; its one user sees everything."""

    needs_login = False

    async def viewer(self, request: web.Request) -> Viewer | None:
        del request
        return Viewer("local", everything=True)

    async def may_get(self, viewer: Viewer, namespace: str, name: str) -> bool:
        del viewer, namespace, name
        return True


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer ") and header[7:].strip():
        return header[7:].strip()
    cookie = request.cookies.get(COOKIE, "")
    return cookie or None


class KubeAuthorizer:
    """TokenReview + SubjectAccessReview against the API server, with short caches."""

    needs_login = True

    def __init__(
        self,
        api: KubeApi,
        *,
        trust_proxy: bool = False,
        user_header: str = "X-Forwarded-User",
        groups_header: str = "X-Forwarded-Groups",
        clock: Callable[[], float] = time.monotonic,
        concurrency: int = 16,
    ) -> None:
        self.api = api
        self.trust_proxy = trust_proxy
        self.user_header = user_header
        self.groups_header = groups_header
        self._clock = clock
        self._tokens: dict[str, tuple[float, Reviewed | None]] = {}
        self._access: dict[tuple[str, tuple[str, ...], str, str], tuple[float, bool]] = {}
        self._limit = asyncio.Semaphore(concurrency)
        self._asking: dict[tuple[str, tuple[str, ...], str, str], asyncio.Future[bool]] = {}
        self.reviews = 0
        self.access_reviews = 0

    async def viewer(self, request: web.Request) -> Viewer | None:
        token = bearer_token(request)
        if token:
            who = await self._review(token)
            return Viewer(who.username, who) if who else None
        if self.trust_proxy and request.headers.get(self.user_header):
            user = request.headers[self.user_header]
            groups = tuple(g.strip() for g in request.headers.get(self.groups_header, "").split(",") if g.strip())
            return Viewer(user, Reviewed(username=user, groups=groups))
        return None

    async def _review(self, token: str) -> Reviewed | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = self._clock()
        cached = self._tokens.get(digest)
        if cached and cached[0] > now:
            return cached[1]
        self.reviews += 1
        try:
            who = await review_token(self.api, token)
        except KubeError:
            who = None
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[digest] = (now + TOKEN_TTL_S, who)
        return who

    async def _allowed(self, who: Reviewed, namespace: str, name: str) -> bool:
        key = (who.username, who.groups, namespace, name)
        now = self._clock()
        cached = self._access.get(key)
        if cached and cached[0] > now:
            return cached[1]
        pending = self._asking.get(key)
        if pending is None:  # one question per (user, namespace, camera) at a time, however many tiles ask
            pending = self._asking[key] = asyncio.ensure_future(self._ask(who, namespace, name))
            pending.add_done_callback(lambda _: self._asking.pop(key, None))
        allowed = await asyncio.shield(pending)
        if len(self._access) > 100_000:
            self._access.clear()
        self._access[key] = (now + ACCESS_TTL_S, allowed)
        return allowed

    async def _ask(self, who: Reviewed, namespace: str, name: str) -> bool:
        async with self._limit:
            self.access_reviews += 1
            return await may_get_camera(self.api, who, namespace, name or None)

    async def may_get(self, viewer: Viewer, namespace: str, name: str) -> bool:
        if viewer.everything:
            return True
        if viewer.who is None:
            return False
        if await self._allowed(viewer.who, namespace, ""):
            return True
        return await self._allowed(viewer.who, namespace, name)

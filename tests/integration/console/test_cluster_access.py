"""The console in a cluster: one watch on Cameras, pictures from S3, and Kubernetes RBAC deciding who sees what.

Against KMock's emulator (Cameras, the watch, the two review endpoints) and moto (objects).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

import aiohttp
import pytest

from tests.integration.capture.helpers import free_port
from tests.integration.console.cluster import (
    BUCKET,
    RbacTable,
    camera,
    create,
    patch_status,
    put_object,
    running_console,
)
from tests.servers.kube import KubeServer
from tests.servers.s3 import S3Server, s3_storage_config

pytestmark = pytest.mark.slow

OUTAGE = {"start": "2026-12-02T09:00:00Z", "end": "2026-12-02T09:04:10Z", "seconds": 250, "reason": "connect: refused"}
JPEG = b"\xff\xd8\xff" + b"thumb" * 50 + b"\xff\xd9"
TOKENS = {"alice-token": "alice", "bob-token": "bob", "carol-token": "carol"}
GRANTS: dict[str, dict[str, set[str] | None]] = {
    "alice": {"site-a": None},  # every camera in site-a
    "bob": {"site-b": None},
    "carol": {"site-a": {"door"}},  # one camera by name (RBAC resourceNames)
}


async def _setup(kube_server: KubeServer, s3_server: S3Server) -> RbacTable:
    table = RbacTable(tokens=dict(TOKENS), grants=GRANTS)
    table.install(kube_server)
    async with aiohttp.ClientSession(kube_server.url) as session:
        for ns, name in (("site-a", "door"), ("site-a", "yard")):
            await create(session, camera(ns, name))
        await create(session, camera("site-b", "gate", outages=[OUTAGE]))
    client: Any = s3_server.client()
    for ns, name in (("site-a", "door"), ("site-a", "yard"), ("site-b", "gate")):
        put_object(client, f"{ns}/{name}/latest.thumb.jpg", JPEG + name.encode())
        put_object(client, f"{ns}/{name}/2026-12/02/100000.000.jpg", JPEG + b"full" + name.encode())
    return table


async def _events_within(resp: aiohttp.ClientResponse, seconds: float) -> list[bytes]:
    events: list[bytes] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            events.append(await asyncio.wait_for(resp.content.readuntil(b"\n\n"), left))
        except TimeoutError:
            break
    return events


def _keys(html: str) -> set[str]:
    return {part.split('"', 1)[0] for part in html.split('data-key="')[1:]}


async def test_each_user_sees_only_the_cameras_their_rbac_lets_them_get(
    kube_server: KubeServer, s3_server: S3Server
) -> None:
    table = await _setup(kube_server, s3_server)
    storage = s3_storage_config(s3_server, BUCKET)
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1, as a browser keeps them
    async with running_console(kube_server, storage) as (url, _), aiohttp.ClientSession(url, cookie_jar=jar) as browser:
        async with browser.get("/healthz") as resp:
            assert resp.status == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the watch has listed the three cameras
            async with browser.get("/healthz") as resp:
                if "3 cameras" in await resp.text():
                    break
            await asyncio.sleep(0.1)

        seen: dict[str, set[str]] = {}
        for token, user in TOKENS.items():
            async with browser.get("/", headers={"Authorization": f"Bearer {token}"}) as resp:
                assert resp.status == 200
                seen[user] = _keys(await resp.text())
        print("walls:", seen)
        assert seen == {"alice": {"site-a/door", "site-a/yard"}, "bob": {"site-b/gate"}, "carol": {"site-a/door"}}

        bob = {"Authorization": "Bearer bob-token"}
        async with browser.get("/cameras/site-b/gate/thumb.jpg", headers=bob) as resp:
            assert (resp.status, await resp.read()) == (200, JPEG + b"gate")  # proxied from S3
        async with browser.get("/cameras/site-b/gate", headers=bob) as resp:
            page = await resp.text()
        assert "As the capture worker reports them" in page  # status.capture.outages
        assert "2026-12-02 09:00:00Z → 2026-12-02 09:04:10Z — connect: refused" in page
        for path in ("/cameras/site-a/door/thumb.jpg", "/cameras/site-a/door/objects/2026-12/02/100000.000.jpg"):
            async with browser.get(path, headers=bob) as resp:
                assert resp.status == 404, path  # no rights on site-a: not even told it exists
        carol = {"Authorization": "Bearer carol-token"}
        async with browser.get("/cameras/site-a/yard/thumb.jpg", headers=carol) as resp:
            assert resp.status == 404
        async with browser.get("/cameras/site-a/door/objects/2026-12/02/100000.000.jpg", headers=carol) as resp:
            assert await resp.read() == JPEG + b"fulldoor"

        # nobody signed in, or a token the API server does not accept
        async with browser.get("/", allow_redirects=False) as resp:
            assert (resp.status, resp.headers["Location"]) == (302, "/login")
        async with browser.get("/cameras/site-b/gate/thumb.jpg", headers={"Authorization": "Bearer forged"}) as resp:
            assert resp.status == 401
        # the sign-in form keeps an accepted token in an HttpOnly cookie
        async with browser.post("/login", data={"token": "bob-token"}, allow_redirects=False) as resp:
            assert resp.status == 302
            assert "HttpOnly" in resp.headers["Set-Cookie"]
        async with browser.get("/") as resp:
            assert _keys(await resp.text()) == {"site-b/gate"}
    print(f"token reviews {table.reviews}, access reviews {table.access_reviews}")
    assert table.reviews <= 8  # cached per token, not asked per request


async def test_live_updates_follow_the_watch_and_respect_rbac(kube_server: KubeServer, s3_server: S3Server) -> None:
    await _setup(kube_server, s3_server)
    storage = s3_storage_config(s3_server, BUCKET)
    async with running_console(kube_server, storage) as (url, _), aiohttp.ClientSession(url) as browser:
        streams = {}
        for user, token in (("alice", "alice-token"), ("bob", "bob-token")):
            resp = await browser.get("/events", headers={"Authorization": f"Bearer {token}"})
            assert resp.status == 200
            await resp.content.readuntil(b"\n\n")  # retry + hello
            streams[user] = resp
        async with aiohttp.ClientSession(kube_server.url) as api:
            changed = time.monotonic()
            await patch_status(api, "site-b", "gate", {"phase": "Degraded", "capture": {"sourceConnected": False}})
        event = (await asyncio.wait_for(streams["bob"].content.readuntil(b"\n\n"), 10)).decode()
        latency = time.monotonic() - changed
        print(f"watch → event stream: {latency * 1000:.0f} ms")
        assert "event: tile" in event
        data = json.loads(event.split("data: ", 1)[1])
        assert (data["key"], data["health"]) == ("site-b/gate", "broken")
        heard = await _events_within(streams["alice"], 1.5)
        assert not [e for e in heard if b"site-b" in e]  # alice may not see site-b: she hears nothing of it
        for resp in streams.values():
            resp.close()


async def test_camops_console_command_serves_the_cluster(kube_server: KubeServer, s3_server: S3Server) -> None:
    """The chart's command line: kubeconfig, storage from CAMOPS_STORAGE_* and the credentials' variables."""
    await _setup(kube_server, s3_server)
    port = free_port()
    env = {
        **os.environ,
        "CAMOPS_STORAGE_ENDPOINT": s3_server.endpoint,
        "CAMOPS_STORAGE_SECURE": "false",
        "CAMOPS_STORAGE_BUCKET": BUCKET,
        "CAMOPS_STORAGE_ACCESS_KEY": s3_server.access_key,
        "CAMOPS_STORAGE_SECRET_KEY": s3_server.secret_key,
    }
    args = ["console", "--listen", f"127.0.0.1:{port}", "--kubeconfig", str(kube_server.kubeconfig)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "camops_operator.cli", *args, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as browser:
            for _ in range(200):
                try:
                    async with browser.get("/healthz") as resp:
                        if "3 cameras" in await resp.text():
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
            bob = {"Authorization": "Bearer bob-token"}
            async with browser.get("/cameras/site-b/gate/thumb.jpg", headers=bob) as resp:
                assert (resp.status, await resp.read()) == (200, JPEG + b"gate")
            async with browser.get("/cameras/site-a/door/thumb.jpg", headers=bob) as resp:
                assert resp.status == 404
    finally:
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()[-2000:]  # SIGTERM: a clean stop
    assert s3_server.secret_key not in err.decode()

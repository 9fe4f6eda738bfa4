"""The console when what it stands on goes away: the storage, or the Kubernetes API under its watch.

Storage down: the wall (built from the watch, not from storage) still lists every camera the token may
see, a picture answers 503 with Retry-After at once (no hang, no traceback, no endpoint or credential
in the body), and pictures are served again when storage is back.

The API down: the console keeps the last wall it knew, and a Camera created once the API is back
shows up after the watch's backoff. The API is cut by a TCP relay in front of the emulator (the same
relay that stops and starts moto), which resets every open connection, the watch's too.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tests.integration.console.cluster import BUCKET, RbacTable, camera, create, put_object, running_console
from tests.servers.kube import KubeServer
from tests.servers.s3 import S3Server, s3_storage_config

pytestmark = pytest.mark.slow

JPEG = b"\xff\xd8\xff" + b"pic" * 40 + b"\xff\xd9"
ALICE = {"Authorization": "Bearer alice-token"}
CAMERAS = (("site-a", "door"), ("site-a", "yard"), ("site-b", "gate"))


@dataclass
class Port:
    port: int


def _keys(html: str) -> set[str]:
    return {part.split('"', 1)[0] for part in html.split('data-key="')[1:]}


async def _setup(kube: KubeServer, s3: S3Server | None) -> RbacTable:
    table = RbacTable(tokens={"alice-token": "alice"}, grants={"alice": {"site-a": None}})
    table.install(kube)
    async with aiohttp.ClientSession(kube.url) as session:
        for ns, name in CAMERAS:
            await create(session, camera(ns, name))
    if s3 is not None:
        client: Any = s3.client()
        for ns, name in CAMERAS:
            put_object(client, f"{ns}/{name}/latest.thumb.jpg", JPEG + name.encode())
    return table


async def _wait_cameras(browser: aiohttp.ClientSession, count: int, seconds: float) -> float:
    """Seconds until /healthz counts ``count`` cameras (fails after ``seconds``)."""
    began = time.monotonic()
    text = ""
    for _ in range(int(seconds / 0.1)):
        async with browser.get("/healthz") as resp:
            text = await resp.text()
        if f"ok {count} cameras" in text:
            return time.monotonic() - began
        await asyncio.sleep(0.1)
    pytest.fail(f"the console never counted {count} cameras in {seconds}s: {text!r}")


async def _wall(browser: aiohttp.ClientSession) -> tuple[int, set[str], float]:
    began = time.monotonic()
    async with browser.get("/", headers=ALICE, timeout=aiohttp.ClientTimeout(total=15)) as resp:
        return resp.status, _keys(await resp.text()), time.monotonic() - began


async def test_storage_down_the_wall_stays_and_pictures_answer_503_until_it_is_back(
    kube_server: KubeServer, s3_server: S3Server
) -> None:
    await _setup(kube_server, s3_server)
    storage = s3_storage_config(s3_server, BUCKET)
    thumb = "/cameras/site-a/door/thumb.jpg"
    async with running_console(kube_server, storage) as (url, _), aiohttp.ClientSession(url) as browser:
        await _wait_cameras(browser, 3, 10)
        async with browser.get(thumb, headers=ALICE) as resp:
            assert (resp.status, await resp.read()) == (200, JPEG + b"door")

        s3_server.stop()
        status, keys, wall_s = await _wall(browser)
        assert (status, keys) == (200, {"site-a/door", "site-a/yard"})  # every camera alice may see
        answers: list[tuple[int, float]] = []
        bodies: list[str] = []
        for path in (thumb, "/cameras/site-a/yard/thumb.jpg", "/cameras/site-a/door/objects/2026-12/02/1.jpg"):
            began = time.monotonic()
            async with browser.get(path, headers=ALICE, timeout=aiohttp.ClientTimeout(total=15)) as resp:
                bodies.append(await resp.text())
                answers.append((resp.status, time.monotonic() - began))
                assert resp.headers.get("Retry-After") == "5"
        pictures = ", ".join(f"{s} in {t * 1000:.0f} ms" for s, t in answers)
        print(f"storage down: wall {wall_s * 1000:.0f} ms; pictures {pictures}")
        assert [s for s, _ in answers] == [503, 503, 503]  # not 404 (it may exist) and not a 500
        assert max(t for _, t in answers) < 6.0  # refused at once; 6 s bounds a loaded machine
        for body in bodies:
            assert "unavailable" in body
            for secret in (s3_server.secret_key, s3_server.access_key, str(s3_server.port), "Traceback"):
                assert secret not in body

        s3_server.start()
        began = time.monotonic()
        async with browser.get(thumb, headers=ALICE) as resp:
            assert (resp.status, await resp.read()) == (200, JPEG + b"door")
        print(f"storage back: picture served again in {(time.monotonic() - began) * 1000:.0f} ms")


async def test_api_down_the_wall_stays_and_a_camera_created_after_it_is_back_appears(
    kube_server: KubeServer, s3_server: S3Server
) -> None:
    table = await _setup(kube_server, None)
    relay = S3Server(Port(int(kube_server.url.rsplit(":", 1)[1])))  # a TCP relay in front of the emulator
    relay.start()
    through = KubeServer(kube_server.emulator, f"http://{relay.endpoint}", kube_server.kubeconfig)
    storage = s3_storage_config(s3_server, BUCKET)
    try:
        async with running_console(through, storage) as (url, _), aiohttp.ClientSession(url) as browser:
            await _wait_cameras(browser, 3, 10)
            status, keys, _ = await _wall(browser)  # alice's token is reviewed (and cached) while the API is up
            assert (status, keys) == (200, {"site-a/door", "site-a/yard"})

            relay.stop()  # the watch connection is reset; lists fail until the relay is back
            down_walls = []
            for _ in range(3):
                await asyncio.sleep(1.0)
                status, keys, took = await _wall(browser)
                down_walls.append(took)
                assert (status, keys) == (200, {"site-a/door", "site-a/yard"})  # the last wall it knew
            relay.start()
            async with aiohttp.ClientSession(kube_server.url) as api:
                await create(api, camera("site-a", "porch"))
            back = time.monotonic()
            picked_s = await _wait_cameras(browser, 4, 20)
            status, keys, _ = await _wall(browser)
            print(
                f"API down 3 s: wall {max(down_walls) * 1000:.0f} ms at worst; a camera created after it came back "
                f"on the wall {time.monotonic() - back:.1f} s later (healthz {picked_s:.1f} s); "
                f"token reviews {table.reviews}"
            )
            assert (status, keys) == (200, {"site-a/door", "site-a/yard", "site-a/porch"})
            # the watch retries after 1, 2, 4 ... s (capped at 30 s): a 3 s outage is over well within 10 s more
            assert picked_s < 12.0
    finally:
        relay.stop()

"""In a real browser, against the console in front of the emulator and moto: a user signs in with a
token and sees only the cameras their RBAC lets them get, with pictures; another namespace's picture
URL typed by hand is refused."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import numpy as np
import pytest
import simplejpeg

from tests.integration.console.browser import browser, shot, wait_for
from tests.integration.console.cluster import BUCKET, RbacTable, camera, create, put_object, running_console
from tests.integration.console.test_cluster_access import GRANTS, TOKENS
from tests.servers.kube import KubeServer
from tests.servers.s3 import S3Server, s3_storage_config

__all__ = ["browser"]

pytestmark = pytest.mark.slow


def _thumb() -> bytes:
    """A real JPEG (the browser must decode it to show the tile)."""
    return bytes(simplejpeg.encode_jpeg(np.full((90, 160, 3), 200, np.uint8)))


def _as_bob(driver: Any, url: str) -> dict[str, Any]:
    driver.get(url)  # nobody signed in: the sign-in form
    assert driver.current_url.endswith("/login")
    driver.find_element("name", "token").send_keys("bob-token")
    driver.find_element("css selector", "form button").click()
    script = (
        "return [...document.querySelectorAll('.tile')].map(t => {const i = t.querySelector('img');"
        " return [t.dataset.key, !!(i && i.complete && i.naturalWidth > 0)]})"
    )
    tiles = wait_for(
        lambda: (t := driver.execute_script(script)) and all(shown for _, shown in t) and t,
        15,
        "the wall with every picture loaded",
    )
    shot(driver, "wall-bob")
    driver.get(url + "cameras/site-b/gate")  # its own camera: the stored snapshot with its analysis beside it
    analysis = wait_for(
        lambda: driver.execute_script("return document.getElementById('analysis').textContent") or None,
        15,
        "the analysis JSON beside the snapshot",
    )
    picture = driver.execute_script("const i = document.getElementById('picture'); return i.naturalWidth")
    shot(driver, "camera-bob")
    driver.get(url + "cameras/site-a/door/thumb.jpg")
    refused = driver.find_element("tag name", "body").text
    driver.get(url + "cameras/site-a/door")
    page = driver.find_element("tag name", "body").text
    return {"tiles": tiles, "refused": refused, "page": page, "analysis": analysis, "picture": picture}


async def test_a_token_without_rights_on_a_namespace_sees_none_of_its_cameras(
    kube_server: KubeServer, s3_server: S3Server, browser: Any
) -> None:
    RbacTable(tokens=dict(TOKENS), grants=GRANTS).install(kube_server)
    client: Any = s3_server.client()
    async with aiohttp.ClientSession(kube_server.url) as session:
        for ns, name in (("site-a", "door"), ("site-a", "yard"), ("site-b", "gate"), ("site-b", "dock")):
            await create(session, camera(ns, name))
            put_object(client, f"{ns}/{name}/latest.thumb.jpg", _thumb())
        put_object(client, "site-b/gate/2026-12/02/100000.000.jpg", _thumb())
        put_object(client, "site-b/gate/2026-12/02/100000.000.jpg.json", b'{"labels": ["truck"]}', "application/json")
    async with running_console(kube_server, s3_storage_config(s3_server, BUCKET)) as (url, _):
        for _attempt in range(100):
            async with aiohttp.ClientSession() as probe, probe.get(url + "/healthz") as resp:
                if "4 cameras" in await resp.text():
                    break
            await asyncio.sleep(0.1)
        seen = await asyncio.to_thread(_as_bob, browser, url + "/")
    print(seen)
    assert sorted(seen["tiles"]) == [["site-b/dock", True], ["site-b/gate", True]]
    assert "no such camera" in seen["refused"]
    assert "no such camera" in seen["page"]
    assert '"truck"' in seen["analysis"]
    assert seen["picture"] == 160

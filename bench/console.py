"""Console benchmark: the wall of 1000 cameras — server time, bytes to the first screen, live-update latency.

Run: ``.venv/bin/python bench/console.py [--cameras N]``. Everything is measured in this run,
against the console as ``camops console`` runs it (one watch on Cameras through KMock's
emulator, a token checked by TokenReview/SubjectAccessReview answered by the emulator, thumbnails
from a local store) and Debian's Chromium through Selenium.

- wall_server_ms_1000: median time of ``GET /`` (the wall of every camera the token may see,
  rendered on the server, permission answers cached) over loopback, 1000 cameras in 10
  namespaces. Goal <= 100. ``healthz_ms`` (same server, a trivial answer) is the baseline of the
  same run; ``wall_vs_healthz_ratio`` is the ratio.
- wall_bytes_1000: everything Chromium downloads to show the first screen of that wall (1280x900):
  the page, its CSS and JS, and the thumbnails of the tiles in view (the others load lazily when
  scrolled to). Goal <= 2 MB (2,000,000 bytes).
- update_latency_ms: a Camera's status patched in the API server (phase Degraded) → its tile
  shows broken in the open page (the watch, the fleet, the event stream, the DOM), median of 7.
  Goal <= 2000.

The last line of output is one JSON object with these figures.
"""

# ruff: noqa: E402 - bench/ must leave sys.path before anything else is imported (see below)
from __future__ import annotations

import sys

# bench/ holds queue.py and operator.py, named like standard-library modules: keep it off the path.
_HERE = __file__.rsplit("/", 1)[0] or "."
sys.path[:] = [p for p in sys.path if p not in {_HERE, ""} and not p.rstrip("/").endswith("/bench")]

import argparse
import asyncio
import http.client
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp

from camops_operator.console.authz import COOKIE
from camops_workers.capture.jpeg import THUMBNAIL_QUALITY, THUMBNAIL_WIDTH, encode_frame
from camops_workers.contract import StorageConfig
from tests.integration.console.browser import start_chromium
from tests.integration.console.cluster import RbacTable, camera, create, patch_status, running_console
from tests.servers.kube import KubeServer, running_kube

NAMESPACES = 10
TOKEN = "bench-admin-token"  # noqa: S105 - the emulator's table, not a credential
GOALS = {"wall_server_ms_1000": 100, "wall_bytes_1000": 2_000_000, "update_latency_ms": 2000}


def thumbnails(count: int) -> list[bytes]:
    """Thumbnails as capture writes them: 320 px wide from a 1280x720 picture with texture (not flat)."""
    rng = np.random.default_rng(7)
    out = []
    for i in range(count):
        rgb = np.zeros((720, 1280, 3), np.uint8)
        rgb[:] = np.linspace(30, 220, 1280, dtype=np.uint8)[None, :, None]
        blocks = rng.integers(0, 255, (18, 32, 3), dtype=np.uint8)
        rgb = (rgb // 2 + np.kron(blocks, np.ones((40, 40, 1), np.uint8)) // 2).astype(np.uint8)
        rgb[(i * 37) % 700 :][:20] = 255
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
        out.append(encode_frame(frame, THUMBNAIL_QUALITY, THUMBNAIL_WIDTH))
    return out


def seed_store(root: Path, names: list[tuple[str, str]]) -> int:
    """latest.thumb.jpg for every camera (a few distinct pictures, hard-linked); returns the mean size."""
    pictures = thumbnails(8)
    sources = []
    for i, data in enumerate(pictures):
        path = root / f".thumb-{i}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        sources.append(path)
    for i, (ns, name) in enumerate(names):
        target = root / ns / name / "latest.thumb.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(sources[i % len(sources)], target)
    return int(statistics.mean(len(p) for p in pictures))


def timed_get(port: int, path: str, cookie: str, runs: int) -> tuple[float, int]:
    """Median milliseconds of ``GET path`` (one keep-alive connection) and the body size."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    size = 0
    for _ in range(runs):
        started = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": f"{COOKIE}={cookie}"})
        resp = conn.getresponse()
        body = resp.read()
        times.append((time.perf_counter() - started) * 1000)
        assert resp.status == 200, resp.status
        size = len(body)
    conn.close()
    return statistics.median(times), size


def browser() -> Any:
    return start_chromium(tempfile.mkdtemp(prefix="camops-bench-chromium-"))


FIRST_SCREEN = """
const inView = [...document.images].filter(i => { const r = i.getBoundingClientRect();
  return r.bottom > 0 && r.top < window.innerHeight; });
if (!inView.length || !inView.every(i => i.complete && i.naturalWidth > 0)) return null;
const nav = performance.getEntriesByType('navigation')[0];
const res = performance.getEntriesByType('resource');
const size = e => e.transferSize || e.encodedBodySize || 0;
return {inView: inView.length, tiles: document.querySelectorAll('.tile').length,
        bytes: size(nav) + res.reduce((a, e) => a + size(e), 0),
        thumbnails: res.filter(e => e.name.includes('thumb.jpg')).length,
        html: size(nav)};
"""

WATCH_TILES = """
window.__broken = {};
new MutationObserver(() => {
  for (const t of document.querySelectorAll('.tile.broken')) {
    if (!(t.dataset.key in window.__broken)) window.__broken[t.dataset.key] = Date.now();
  }
}).observe(document.getElementById('wall'), {childList: true, subtree: true, attributes: true});
"""


def first_screen(driver: Any, url: str) -> dict[str, Any]:
    driver.get(url + "/login")
    driver.add_cookie({"name": COOKIE, "value": TOKEN, "path": "/"})
    driver.get(url + "/")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = driver.execute_script(FIRST_SCREEN)
        if found:
            return dict(found)
        time.sleep(0.1)
    raise RuntimeError("the first screen did not finish loading")


def seen_at(driver: Any, key: str, timeout: float = 20) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at = driver.execute_script("return window.__broken[arguments[0]]", key)
        if at:
            return float(at)
        time.sleep(0.01)
    raise RuntimeError(f"{key} never turned broken")


async def measure(count: int) -> dict[str, Any]:
    names = [(f"site-{i % NAMESPACES}", f"cam-{i:04d}") for i in range(count)]
    with tempfile.TemporaryDirectory(prefix="camops-bench-console-") as tmp:
        store = Path(tmp) / "store"
        thumb_bytes = seed_store(store, names)
        async with running_kube(Path(tmp)) as kube:
            kube_server: KubeServer = kube
            table = RbacTable(tokens={TOKEN: "admin"}, grants={"admin": {f"site-{i}": None for i in range(NAMESPACES)}})
            table.install(kube_server)
            async with aiohttp.ClientSession(kube_server.url) as api:
                sem = asyncio.Semaphore(32)

                async def one(ns: str, name: str) -> None:
                    async with sem:
                        body = camera(ns, name)
                        body["spec"]["storage"] = {"prefix": ns}
                        await create(api, body)

                await asyncio.gather(*(one(ns, name) for ns, name in names))
                storage = StorageConfig(kind="local", directory=str(store))
                async with running_console(kube_server, storage) as (url, _):
                    port = int(url.rsplit(":", 1)[1])
                    for _ in range(300):
                        if f"{count} cameras".encode() in await _healthz(url):
                            break
                        await asyncio.sleep(0.1)
                    await asyncio.to_thread(timed_get, port, "/", TOKEN, 2)  # warm the permission cache
                    wall_ms, wall_size = await asyncio.to_thread(timed_get, port, "/", TOKEN, 15)
                    healthz_ms, _ = await asyncio.to_thread(timed_get, port, "/healthz", TOKEN, 15)

                    driver = await asyncio.to_thread(browser)
                    try:
                        screen = await asyncio.to_thread(first_screen, driver, url)
                        await asyncio.to_thread(driver.execute_script, WATCH_TILES)
                        await asyncio.sleep(1.0)  # the event stream is open
                        latencies = []
                        for ns, name in names[:: max(1, count // 7)][:7]:
                            started = time.time() * 1000
                            await patch_status(api, ns, name, {"phase": "Degraded"})
                            shown = await asyncio.to_thread(seen_at, driver, f"{ns}/{name}")
                            latencies.append(shown - started)
                    finally:
                        await asyncio.to_thread(driver.quit)
    return {
        "cameras": count,
        "wall_server_ms_1000": round(wall_ms, 1),
        "healthz_ms": round(healthz_ms, 2),
        "wall_vs_healthz_ratio": round(wall_ms / healthz_ms, 1),
        "wall_html_bytes": wall_size,
        "wall_bytes_1000": int(screen["bytes"]),
        "first_screen_thumbnails": screen["thumbnails"],
        "thumbnail_bytes_mean": thumb_bytes,
        "update_latency_ms": round(statistics.median(latencies)),
        "update_latency_ms_max": round(max(latencies)),
        "token_reviews": table.reviews,
        "access_reviews": table.access_reviews,
    }


async def _healthz(url: str) -> bytes:
    async with aiohttp.ClientSession() as session, session.get(url + "/healthz") as resp:
        return await resp.read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cameras", type=int, default=1000)
    args = parser.parse_args()
    figures = asyncio.run(measure(args.cameras))
    print(f"{'figure':<28} value")
    for name, value in figures.items():
        goal = f"  (goal <= {GOALS[name]})" if name in GOALS else ""
        print(f"{name:<28} {value}{goal}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

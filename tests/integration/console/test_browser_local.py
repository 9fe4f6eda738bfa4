"""The console in a real browser against `camops local` with GStreamer RTSP cameras.

A user opens the wall and sees every camera's picture; a camera whose RTSP server stops turns
broken on the open page within seconds (no reload); on a camera's page the time slider shows
the snapshot taken at the chosen time, and a recorded segment plays in the <video> element.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.capture.helpers import free_port
from tests.integration.console.browser import browser, shot, wait_for
from tests.servers.rtsp import RtspServer

__all__ = ["browser"]

pytestmark = pytest.mark.slow

NAMES = ("porch", "garage", "street")
PICTURES = """() => [...document.querySelectorAll('.tile')].map(t => {
  const img = t.querySelector('img');
  return [t.dataset.key, t.className, !!(img && img.complete && img.naturalWidth > 0)];
})"""


def _manifest(urls: dict[str, str]) -> list[dict[str, Any]]:
    cameras = []
    for name, url in urls.items():
        spec: dict[str, Any] = {
            "source": {"url": url, "via": "direct", "connectTimeout": "2s", "stallTimeout": "3s"},
            "snapshots": {"interval": "1s"},
            # the test pattern (a ball on black) is what picture health calls Black: not judged here
            "health": {"enabled": False},
        }
        if name == "porch":
            spec["recording"] = {"enabled": True, "segmentDuration": "2s"}
        cameras.append(
            {
                "apiVersion": "camops.io/v1alpha1",
                "kind": "Camera",
                "metadata": {"name": name, "namespace": "home", "labels": {"site": "home"}},
                "spec": spec,
            }
        )
    return cameras


@pytest.fixture
def local_console(
    tmp_path: Path, rtsp_server: Callable[..., RtspServer]
) -> Iterator[tuple[str, dict[str, RtspServer]]]:
    servers = {name: rtsp_server(gop=10, width=640, height=360) for name in NAMES}
    path = tmp_path / "cameras.yaml"
    path.write_text(yaml.safe_dump_all(_manifest({n: s.url("/live") for n, s in servers.items()})))
    port = free_port()
    args = ["-f", str(path), "--data", str(tmp_path / "data"), "--seconds", "120", "--console", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "camops_operator.cli", "local", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        url = None
        while time.monotonic() < deadline and url is None:
            line = proc.stdout.readline()
            if line.startswith("console: "):
                url = line.split()[1]
        assert url == f"http://127.0.0.1:{port}/", url
        yield url, servers
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_wall_pictures_and_a_camera_going_down_without_reload(
    local_console: tuple[str, dict[str, RtspServer]], browser: Any
) -> None:
    url, servers = local_console
    browser.get(url)
    browser.execute_script("window.__sameDocument = true")
    tiles = wait_for(
        lambda: (
            (t := browser.execute_script(f"return ({PICTURES})()")) and len(t) == 3 and all(p for _, _, p in t) and t
        ),
        30,
        "every camera's tile shows a picture",
    )
    assert {key for key, _, _ in tiles} == {f"home/{n}" for n in NAMES}
    assert all("ok" in cls.split() for _, cls, _ in tiles), tiles
    shot(browser, "wall")

    servers["garage"].stop()
    stopped = time.monotonic()
    wait_for(
        lambda: (
            "broken" in browser.execute_script("return document.querySelector('[data-key=\"home/garage\"]').className")
        ),
        20,
        "the stopped camera's tile turns broken",
    )
    took = time.monotonic() - stopped
    print(f"RTSP server stopped → tile broken in {took:.1f} s")
    assert browser.execute_script("return window.__sameDocument") is True  # no reload
    first = browser.execute_script("return document.querySelector('#wall .tile').dataset.key")
    assert first == "home/garage"  # broken cameras first
    shot(browser, "wall-one-broken")

    def outage_listed() -> str | None:
        browser.get(url + "cameras/home/garage")
        text = browser.find_element("css selector", "section.status").text
        return text if "As the capture worker reports them" in text and "ongoing" in text else None

    status = wait_for(outage_listed, 15, "the camera page lists the ongoing outage", interval=1.0)
    print(status)


def test_time_slider_and_segment_playback(local_console: tuple[str, dict[str, RtspServer]], browser: Any) -> None:
    url, _ = local_console
    time.sleep(7)  # a few snapshots and closed 2 s segments
    browser.get(url + "cameras/home/porch")
    day = wait_for(
        lambda: (
            (d := browser.execute_script("return window.camopsDay"))
            and len(d["snapshots"]) >= 4
            and d["segments"]
            and d
        ),
        30,
        "the day's snapshots and segments are listed",
    )
    snaps = day["snapshots"]
    middle = snaps[len(snaps) // 2]
    # choose a time just after the middle snapshot (before the next one): that snapshot is shown
    seconds = browser.execute_script(
        "const t = new Date(arguments[0]); return t.getUTCHours()*3600 + t.getUTCMinutes()*60 + t.getUTCSeconds()"
        " + t.getUTCMilliseconds()/1000 + 0.2;",
        middle["at"],
    )
    browser.execute_script("window.camopsChoose(arguments[0])", seconds)
    shown = browser.execute_script("return window.camopsShown")
    assert shown["key"] == middle["key"]
    wait_for(
        lambda: browser.execute_script(
            "const i = document.getElementById('picture'); return i.complete && i.naturalWidth > 0 && i.src"
        ),
        10,
        "the chosen snapshot loads",
    ).endswith(middle["key"])
    assert middle["at"] in browser.find_element("id", "shown-at").text
    # the slider itself, moved by the user to that second, lands on the same or the one before it
    browser.execute_script(
        "const s = document.getElementById('slider'); s.value = arguments[0]; s.dispatchEvent(new Event('input'))",
        str(int(seconds)),
    )
    by_slider = browser.execute_script("return window.camopsShown")["at"]
    assert by_slider <= middle["at"]
    # ◀ and ▶ step one snapshot
    browser.execute_script("window.camopsChoose(arguments[0])", seconds)
    index = snaps.index(middle)
    browser.find_element("id", "prev").click()
    assert browser.execute_script("return window.camopsShown")["key"] == snaps[index - 1]["key"]
    browser.find_element("id", "next").click()
    browser.find_element("id", "next").click()
    assert browser.execute_script("return window.camopsShown")["key"] == snaps[index + 1]["key"]

    browser.find_element("css selector", "#segments button").click()
    ready = wait_for(
        lambda: (r := browser.execute_script("return document.getElementById('player').readyState")) >= 2 and r,
        15,
        "the segment's video has data",
    )
    before = browser.execute_script("return document.getElementById('player').currentTime")
    time.sleep(1.0)
    after = browser.execute_script("return document.getElementById('player').currentTime")
    error = browser.execute_script("const e = document.getElementById('player').error; return e && e.message")
    print(f"video readyState {ready}, currentTime {before:.2f} → {after:.2f}, error {error}")
    assert after > before, "the segment is playing"
    browser.execute_script("window.scrollTo(0, 0)")
    shot(browser, "camera-page")

"""The console's server with a real local store: the wall, objects by URL, a day's listing, live updates."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from camops_operator.console.app import ConsoleApp, _Recent, make_app
from camops_operator.console.authz import LocalAuthorizer
from camops_operator.console.fleet import CameraRecord, Fleet
from camops_operator.console.tiles import Health, Tile
from camops_workers.contract import StorageConfig

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
JPEG = b"\xff\xd8\xff" + b"x" * 200 + b"\xff\xd9"


def _write(root: Path, key: str, data: bytes) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def record(root: Path, name: str, health: Health, *, ns: str = "site-a") -> CameraRecord:
    tile = Tile(namespace=ns, name=name, phase="Running", health=health, last_snapshot_at=NOW, queue_depth=2)
    storage = StorageConfig(kind="local", directory=str(root))
    return CameraRecord(tile=tile, storage=storage, prefix=f"{name}/", layout="dated")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[TestClient, Fleet, Path]]:  # type: ignore[type-arg]
    root = tmp_path / "store"
    _write(root, "door/latest.thumb.jpg", JPEG)
    _write(root, "door/2026-12/02/100000.000.jpg", JPEG + b"1")
    _write(root, "door/2026-12/02/100000.000.jpg.json", json.dumps({"objects": ["car"]}).encode())
    _write(root, "door/2026-12/02/100500.000.jpg", JPEG + b"2")
    _write(root, "door/2026-12/02/100000.000.mp4", bytes(range(256)) * 4)
    _write(root, "door/2026-12/01/230000.000.jpg", JPEG)
    _write(root, "secret/latest.thumb.jpg", JPEG)
    fleet = Fleet(clock=lambda: NOW)
    fleet.replace_all([record(root, "door", Health.OK), record(root, "gate", Health.BROKEN)])
    app = make_app(ConsoleApp(fleet, LocalAuthorizer(), clock=lambda: NOW))
    async with TestClient(TestServer(app)) as c:
        yield c, fleet, root


async def test_wall_shows_broken_first_with_lazy_thumbnails(client: tuple[TestClient, Fleet, Path]) -> None:  # type: ignore[type-arg]
    c, _, _ = client
    resp = await c.get("/")
    html = await resp.text()
    assert resp.status == 200
    assert html.index('data-key="site-a/gate"') < html.index('data-key="site-a/door"')
    assert 'loading="lazy"' in html
    assert "/cameras/site-a/door/thumb.jpg?v=" in html
    assert "2 of 2 cameras" in html
    filtered = await (await c.get("/?state=ok")).text()
    assert "site-a/gate" not in filtered
    assert "site-a/door" in filtered


async def test_objects_are_served_only_below_the_camera(client: tuple[TestClient, Fleet, Path]) -> None:  # type: ignore[type-arg]
    c, _, root = client
    thumb = await c.get("/cameras/site-a/door/thumb.jpg")
    assert (thumb.status, thumb.content_type, await thumb.read()) == (200, "image/jpeg", JPEG)
    assert (await c.get("/cameras/site-a/door/objects/../secret/latest.thumb.jpg")).status == 404
    assert (await c.get("/cameras/site-a/door/objects/%2E%2E/secret/latest.thumb.jpg")).status == 404
    assert (await c.get("/cameras/site-a/nobody/thumb.jpg")).status == 404
    _write(root, "gate/latest.jpg", JPEG + b"full")  # a worker that writes no thumbnail yet
    assert await (await c.get("/cameras/site-a/gate/thumb.jpg")).read() == JPEG + b"full"
    part = await c.get("/cameras/site-a/door/objects/2026-12/02/100000.000.mp4", headers={"Range": "bytes=10-19"})
    assert part.status == 206
    assert part.headers["Content-Range"] == "bytes 10-19/1024"
    assert await part.read() == bytes(range(10, 20))
    (root / "door/2026-12/02/100000.000.mp4").unlink()  # the next range of the same playback comes from memory
    rest = await c.get("/cameras/site-a/door/objects/2026-12/02/100000.000.mp4", headers={"Range": "bytes=1000-"})
    assert (rest.status, await rest.read()) == (206, bytes(range(232, 256)))


def test_recent_segments_are_bounded_by_bytes() -> None:
    recent = _Recent(limit=100)
    recent.put(("s", "a"), b"a" * 60)
    recent.put(("s", "b"), b"b" * 30)
    assert recent.get(("s", "a")) is not None  # a is now the most recent
    recent.put(("s", "c"), b"c" * 30)  # 120 > 100: the least recent (b) goes
    assert recent.get(("s", "b")) is None
    assert recent.get(("s", "a")) is not None
    recent.put(("s", "huge"), b"x" * 101)  # never kept
    assert recent.get(("s", "huge")) is None


async def test_a_day_lists_snapshots_with_their_analysis_and_segments(client: tuple[TestClient, Fleet, Path]) -> None:  # type: ignore[type-arg]
    c, _, _ = client
    page = await (await c.get("/cameras/site-a/door")).text()
    assert page.index("2026-12-02") < page.index("2026-12-01")  # newest day first
    day = await (await c.get("/cameras/site-a/door/days/2026-12-02.json")).json()
    assert [s["key"] for s in day["snapshots"]] == ["2026-12/02/100000.000.jpg", "2026-12/02/100500.000.jpg"]
    assert day["snapshots"][0]["analysis"] == "2026-12/02/100000.000.jpg.json"
    assert day["snapshots"][0]["at"] == "2026-12-02T10:00:00.000Z"
    assert [s["key"] for s in day["segments"]] == ["2026-12/02/100000.000.mp4"]


async def test_live_updates_send_each_change_once(client: tuple[TestClient, Fleet, Path]) -> None:  # type: ignore[type-arg]
    c, fleet, root = client
    resp = await c.get(f"/events?since={fleet.version}")
    assert resp.headers["Content-Type"] == "text/event-stream"
    assert (await resp.content.readuntil(b"\n\n")).startswith(b"retry:")
    fleet.upsert(record(root, "door", Health.BROKEN))
    fleet.upsert(record(root, "door", Health.BROKEN))  # no change: nothing sent
    fleet.remove("site-a", "gate")
    first = (await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 5)).decode()
    second = (await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 5)).decode()
    assert "event: tile" in first
    data = json.loads(first.split("data: ", 1)[1])
    assert data["key"] == "site-a/door"
    assert data["health"] == "broken"
    assert 'class="tile broken"' in data["html"]
    assert "event: remove" in second
    assert "site-a/gate" in second
    assert fleet.records()[0].outages[0].ended_at is None  # the console saw an outage start
    resp.close()


async def test_a_large_wall_is_sent_gzipped(client: tuple[TestClient, Fleet, Path]) -> None:  # type: ignore[type-arg]
    c, fleet, root = client
    fleet.replace_all([record(root, f"cam-{i:03d}", Health.OK) for i in range(300)])
    resp = await c.get("/", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    body = await resp.read()
    assert resp.headers["Content-Encoding"] == "gzip"
    assert len(body) < 20_000  # ~140 KB of HTML
    plain = await c.get("/", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert (await plain.text()).count('class="tile ') == 300

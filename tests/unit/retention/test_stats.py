"""Storage statistics: per camera, by age bin, and the table a person reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from camops_workers.retention.stats import render_table, summarize
from camops_workers.storage.base import StoredObject

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def o(key: str, hours: float, size: int) -> StoredObject:
    return StoredObject(key, size, NOW - timedelta(hours=hours))


LISTING = [
    o("site/door/2026-03/20/110000.000.jpg", 1, 10),  # today
    o("site/door/2026-03/19/110000.000.jpg", 14, 20),  # yesterday: 7d bin
    o("site/door/2026-03/01/110000.000.jpg", 24 * 19, 30),  # 30d
    o("site/gate/2025-12/01/110000.000.jpg", 24 * 100, 40),  # older
    o("site/gate/latest.jpg", 0, 5),
    o("site/readme.txt", 24 * 100, 1),
    o("elsewhere/door/x.jpg", 1, 1000),
]


def test_summarize_by_camera_and_age() -> None:
    stats = summarize(LISTING, "site/", NOW, where="s3://b")
    assert (stats.total.objects, stats.total.bytes) == (6, 106)
    assert {n: (b.objects, b.bytes) for n, b in stats.ages.items()} == {
        "today": (2, 15),
        "7d": (1, 20),
        "30d": (1, 30),
        "older": (2, 41),
    }
    assert sorted(stats.cameras) == ["(no camera)", "door", "gate"]
    assert stats.cameras["door"].total.bytes == 60
    assert stats.cameras["gate"].oldest == NOW - timedelta(days=100)
    as_json = stats.to_dict()
    assert as_json["cameras"]["gate"]["byAge"]["older"] == {"objects": 1, "bytes": 40}


def test_table_is_readable() -> None:
    table = render_table(summarize(LISTING, "site/", NOW, where="s3://b"))
    lines = table.splitlines()
    assert lines[1].split()[:3] == ["camera", "objects", "size"]
    door = next(line for line in lines if line.startswith("door"))
    assert "60 B" in door
    assert lines[-2].startswith("TOTAL")

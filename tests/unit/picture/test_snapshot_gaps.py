"""Gaps in a camera's snapshots per camera and day, from the keys, and `camops stats --gaps` on a folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from camops_operator.cli import main as camops
from camops_workers.retention.gaps import render_gaps, snapshot_gaps
from camops_workers.storage.base import StoredObject
from camops_workers.storage.keys import latest_key, object_key

DAY = datetime(2026, 3, 20, 0, 0, tzinfo=UTC)


def _times() -> list[datetime]:
    """A snapshot every 10 s from 10:00 to 12:00, away 10:30-10:45 and 11:20-11:22, and a few the next day."""
    out = []
    t = DAY + timedelta(hours=10)
    while t < DAY + timedelta(hours=12):
        away = DAY + timedelta(hours=10, minutes=30) <= t < DAY + timedelta(hours=10, minutes=45)
        blip = DAY + timedelta(hours=11, minutes=20) <= t < DAY + timedelta(hours=11, minutes=22)
        if not (away or blip):
            out.append(t)
        t += timedelta(seconds=10)
    out += [DAY + timedelta(days=1, hours=1, seconds=10 * i) for i in range(6)]
    return out


def _listing(camera: str = "door") -> list[StoredObject]:
    objects = [StoredObject(object_key("dated", "site", camera, t, "jpg"), 100, t) for t in _times()]
    objects.append(StoredObject(latest_key("site", camera), 100, DAY))
    objects.append(StoredObject(object_key("dated", "site", camera, DAY, "jpg") + ".json", 10, DAY))
    return objects


def test_gaps_per_camera_and_day_with_the_time_lost() -> None:
    rows = snapshot_gaps(_listing(), "site/")
    assert [(r.camera, r.day.isoformat(), r.gaps) for r in rows] == [
        ("door", "2026-03-20", 3),  # two outages and the night until the next day's first snapshot
        ("door", "2026-03-21", 0),
    ]
    first = rows[0]
    # 10:30-10:45 away: the snapshots 10:29:50 and 10:45:00 are 15m10s apart, one 10 s spacing is normal.
    # 11:20-11:22 away: 2m10s apart. The night: 11:59:50 to 01:00:00 the next day.
    night = (DAY + timedelta(days=1, hours=1) - (DAY + timedelta(hours=11, minutes=59, seconds=50))).total_seconds()
    assert first.lost_s == pytest.approx((910 - 10) + (130 - 10) + (night - 10))
    assert first.longest_s == night
    # A threshold longer than the blip: only the outage and the night.
    assert snapshot_gaps(_listing(), "site/", min_gap_s=300)[0].gaps == 2
    table = render_gaps(rows).splitlines()
    assert table[3].split() == ["door", "2026-03-20", "618", "10:00:00", "11:59:50", "3", "13h17m", "13h10s"]


def test_camops_stats_gaps_on_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "data"
    for obj in _listing():
        path = root.joinpath(*obj.key.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * obj.size)
    assert camops(["stats", "--dir", str(root), "--prefix", "site", "--json", "--gaps", "--gap", "5m"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert [(g["day"], g["gaps"]) for g in body["gaps"]] == [("2026-03-20", 2), ("2026-03-21", 0)]
    assert camops(["stats", "--dir", str(root), "--prefix", "site", "--gaps"]) == 0
    out = capsys.readouterr().out
    assert "snapshot gaps by camera and day (UTC)" in out
    print(out)

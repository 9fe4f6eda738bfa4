"""Timeline records (picture-state changes, outages) stored beside the snapshots, and their summary."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from camops_workers.outages import Outage
from camops_workers.picture import PictureJudge, thumbnail_from_luma
from camops_workers.retention.gaps import snapshot_gaps
from camops_workers.storage.base import StoredObject
from camops_workers.timeline import (
    outage_record,
    picture_record,
    record_key,
    record_kind,
    render_timeline,
    summarize_records,
)
from tests.servers.pictures import Scene

T0 = datetime(2026, 3, 20, 23, 58, tzinfo=UTC)


def test_records_are_keyed_like_snapshots_and_summed_per_camera_and_day() -> None:
    judge, scene, records = PictureJudge(), Scene(), []
    for i in range(14):
        fault = "uniform" if 6 <= i < 10 else "normal"
        at = T0 + timedelta(seconds=20 * i)  # crosses midnight
        verdict = judge.observe(thumbnail_from_luma(scene.luma(i * 20.0, fault)), at)
        if verdict.transition is not None:
            records.append(
                (record_key("dated", "site", "door", verdict.transition.at, "picture"), picture_record("door", verdict))
            )
    outage = Outage(T0 + timedelta(minutes=5), "connection refused", end=T0 + timedelta(minutes=6, seconds=30))
    records.append((record_key("dated", "site", "door", outage.start, "outage"), outage_record("door", outage)))
    keys = [k for k, _ in records]
    assert keys[0].startswith("site/door/2026-03/2")
    assert keys[0].endswith(".picture.json")
    assert [record_kind(k) for k in keys] == ["picture", "picture", "outage"]
    assert record_kind("site/door/2026-03/20/120000.000.jpg") is None
    rows = summarize_records((k, json.loads(data)) for k, data in records)
    assert [(r.day.isoformat(), r.faults, r.outages, r.outage_s) for r in rows] == [
        ("2026-03-21", {"Uniform": 1}, 1, 90.0),
    ]
    assert "Uniform 1" in render_timeline(rows)
    # Records are not snapshots: the gap report ignores them.
    listing = [StoredObject(k, 10, T0) for k in keys]
    assert snapshot_gaps(listing, "site/") == []


def test_records_refuse_what_did_not_happen() -> None:
    with pytest.raises(ValueError, match="open"):
        outage_record("door", Outage(T0, "x"))
    with pytest.raises(ValueError, match="unknown"):
        record_key("dated", "", "door", T0, "weather")

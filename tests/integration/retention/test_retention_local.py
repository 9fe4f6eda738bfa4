"""`camops retention --dir` and `camops stats --dir` on the local-folder store (camops local's layout).

Here LastModified is the file's mtime, which a test can set: ages are real, no shifted `now`.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from camops_operator.cli import main as camops
from camops_workers.storage.keys import latest_key, object_key

NOW = datetime.now(UTC)


def write(root: Path, key: str, modified: datetime, size: int = 64) -> None:
    path = root.joinpath(*key.split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8" + b"x" * (size - 4) + b"\xff\xd9")
    os.utime(path, (modified.timestamp(), modified.timestamp()))


def keys(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """Two cameras, 20 days x 10 captures each, mtime = capture time; three 'wrong clock' files."""
    root = tmp_path / "data"
    for camera in ("door", "gate"):
        for day in range(20):
            for i in range(10):
                when = NOW - timedelta(days=day, hours=i * 2, minutes=5)
                write(root, object_key("dated", "", camera, when, "jpg"), when)
        write(root, latest_key("", camera), NOW)
    # The door camera's clock was a month behind for three captures made an hour ago.
    for i in range(3):
        write(
            root, object_key("dated", "", "door", NOW - timedelta(days=30, minutes=i), "jpg"), NOW - timedelta(hours=1)
        )
    return root


def old(key: str, days: float) -> bool:
    from camops_workers.storage.keys import key_time

    t = key_time(key)
    return t is not None and t < NOW - timedelta(days=days)


def test_dry_run_then_run_by_age(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = keys(store)
    assert camops(["retention", "--dir", str(store), "--max-age", "7d", "--dry-run"]) == 0
    plan = capsys.readouterr().out
    assert "would delete" in plan
    assert keys(store) == before
    assert camops(["retention", "--dir", str(store), "--max-age", "7d", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    wrong_clock = {k for k in before if k.startswith("door/") and old(k, 29)}
    expected_gone = {k for k in before if old(k, 7)} - wrong_clock
    assert before - keys(store) == expected_gone
    assert wrong_clock <= keys(store)
    assert {"door/latest.jpg", "gate/latest.jpg"} <= keys(store)
    assert report["objectsDeleted"] == len(expected_gone)
    assert report["bytesFreed"] == 64 * len(expected_gone)
    assert {c["camera"]: c["protected_young"] for c in report["cameras"]} == {"door": 3, "gate": 0}


def test_prefix_naming_one_camera_folder_covers_only_that_camera(store: Path) -> None:
    before = keys(store)
    assert camops(["retention", "--dir", str(store), "--prefix", "gate", "--max-age", "10d"]) == 0
    assert before - keys(store) == {k for k in before if k.startswith("gate/") and old(k, 10)}


def test_archive_to_a_folder_then_delete(store: Path, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    before = keys(store)
    args = ["retention", "--dir", str(store), "--max-age", "14d", "--archive-dir", str(archive), "--camera", "gate"]
    assert camops(args) == 0
    gone = before - keys(store)
    assert gone == {k for k in before if k.startswith("gate/") and old(k, 14)}
    assert keys(archive) == gone
    assert all((archive / k).read_bytes() == b"\xff\xd8" + b"x" * 60 + b"\xff\xd9" for k in gone)


def test_stats_by_camera_and_age(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert camops(["stats", "--dir", str(store), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["objects"] == 2 * (200 + 1) + 3
    assert set(stats["cameras"]) == {"door", "gate"}
    ages = stats["byAge"]
    assert sum(b["objects"] for b in ages.values()) == stats["objects"]
    assert ages["older"]["objects"] == 0  # nothing is 30 days old by mtime
    assert ages["30d"]["objects"] == 2 * 130  # days 7..19 (13 days x 10 per camera)
    assert camops(["stats", "--dir", str(store)]) == 0
    assert "door" in capsys.readouterr().out


def test_missing_folder_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert camops(["retention", "--dir", str(tmp_path / "nope"), "--max-age", "7d"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert camops(["stats", "--dir", str(tmp_path / "nope")]) == 2
    assert not (tmp_path / "nope").exists()

"""`camops retention --dir` and `camops stats --dir` on the local-folder store (camops local's layout).

Here LastModified is the file's mtime, which a test sets: every test runs at each of the
fixed dates of tests.support.clock (month ends, a leap day, New Year's Eve, a DST change)
and passes it as ``--now``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from camops_operator.cli import main as camops
from camops_workers.storage.keys import latest_key, object_key


def write(root: Path, key: str, modified: datetime, size: int = 64) -> None:
    path = root.joinpath(*key.split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8" + b"x" * (size - 4) + b"\xff\xd9")
    os.utime(path, (modified.timestamp(), modified.timestamp()))


def keys(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@dataclass
class Store:
    root: Path
    now: datetime

    def old(self, key: str, days: float) -> bool:
        from camops_workers.storage.keys import key_time

        t = key_time(key)
        return t is not None and t < self.now - timedelta(days=days)


@pytest.fixture
def store(tmp_path: Path, dated_now: datetime) -> Store:
    """Two cameras, 20 days x 10 captures each, mtime = capture time; three 'wrong clock' files.

    Ages are absolute (in UTC): arithmetic on a time in a zone with summer time would be wall time.
    """
    now = dated_now.astimezone(UTC)
    root = tmp_path / "data"
    for camera in ("door", "gate"):
        for day in range(20):
            for i in range(10):
                when = now - timedelta(days=day, hours=i * 2, minutes=5)
                write(root, object_key("dated", "", camera, when, "jpg"), when)
        write(root, latest_key("", camera), now)
    # The door camera's clock was a month behind for three captures made an hour ago.
    for i in range(3):
        write(
            root, object_key("dated", "", "door", now - timedelta(days=30, minutes=i), "jpg"), now - timedelta(hours=1)
        )
    return Store(root, now)


def test_dry_run_then_run_by_age(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    before = keys(store.root)
    assert (
        camops(["retention", "--dir", str(store.root), "--now", store.now.isoformat(), "--max-age", "7d", "--dry-run"])
        == 0
    )
    plan = capsys.readouterr().out
    assert "would delete" in plan
    assert keys(store.root) == before
    assert (
        camops(["retention", "--dir", str(store.root), "--now", store.now.isoformat(), "--max-age", "7d", "--json"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    wrong_clock = {k for k in before if k.startswith("door/") and store.old(k, 29)}
    expected_gone = {k for k in before if store.old(k, 7)} - wrong_clock
    assert before - keys(store.root) == expected_gone
    assert wrong_clock <= keys(store.root)
    assert {"door/latest.jpg", "gate/latest.jpg"} <= keys(store.root)
    assert report["objectsDeleted"] == len(expected_gone)
    assert report["bytesFreed"] == 64 * len(expected_gone)
    assert {c["camera"]: c["protected_young"] for c in report["cameras"]} == {"door": 3, "gate": 0}


def test_prefix_naming_one_camera_folder_covers_only_that_camera(store: Store) -> None:
    before = keys(store.root)
    assert (
        camops(
            [
                "retention",
                "--dir",
                str(store.root),
                "--now",
                store.now.isoformat(),
                "--prefix",
                "gate",
                "--max-age",
                "10d",
            ]
        )
        == 0
    )
    assert before - keys(store.root) == {k for k in before if k.startswith("gate/") and store.old(k, 10)}


def test_archive_to_a_folder_then_delete(store: Store, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    before = keys(store.root)
    args = [
        "retention",
        "--dir",
        str(store.root),
        "--now",
        store.now.isoformat(),
        "--max-age",
        "14d",
        "--archive-dir",
        str(archive),
        "--camera",
        "gate",
    ]
    assert camops(args) == 0
    gone = before - keys(store.root)
    assert gone == {k for k in before if k.startswith("gate/") and store.old(k, 14)}
    assert keys(archive) == gone
    assert all((archive / k).read_bytes() == b"\xff\xd8" + b"x" * 60 + b"\xff\xd9" for k in gone)


def test_stats_by_camera_and_age(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert camops(["stats", "--dir", str(store.root), "--now", store.now.isoformat(), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["objects"] == 2 * (200 + 1) + 3
    assert set(stats["cameras"]) == {"door", "gate"}
    ages = stats["byAge"]
    assert sum(b["objects"] for b in ages.values()) == stats["objects"]
    assert ages["older"]["objects"] == 0  # nothing is 30 days old by mtime
    assert ages["30d"]["objects"] == 2 * 130  # days 7..19 (13 days x 10 per camera)
    assert camops(["stats", "--dir", str(store.root)]) == 0
    assert "door" in capsys.readouterr().out


def test_missing_folder_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert camops(["retention", "--dir", str(tmp_path / "nope"), "--max-age", "7d"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert camops(["stats", "--dir", str(tmp_path / "nope")]) == 2
    assert not (tmp_path / "nope").exists()


def test_a_dry_run_says_which_folders_it_listed_and_which_it_left(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """A camera holding only young objects is not reported as holding nothing: newer day folders are counted."""
    day_folders = sorted({k.rsplit("/", 1)[0] for k in keys(store.root) if k.startswith("gate/") and store.old(k, 0)})
    cutoff = store.now - timedelta(days=7)

    def older(folder: str) -> bool:
        return datetime.strptime(folder, "gate/%Y-%m/%d").replace(tzinfo=UTC) < cutoff

    args = ["retention", "--dir", str(store.root), "--now", store.now.isoformat(), "--camera", "gate", "--dry-run"]
    assert camops([*args, "--max-age", "7d", "--json"]) == 0
    [gate] = json.loads(capsys.readouterr().out)["cameras"]
    assert gate["day_folders_listed"] == sum(1 for f in day_folders if older(f)) > 0
    assert gate["day_folders_newer"] == sum(1 for f in day_folders if not older(f)) > 0
    dated = [k for k in keys(store.root) if k.startswith("gate/") and store.old(k, 0)]
    assert gate["listed"] == sum(1 for k in dated if older(k.rsplit("/", 1)[0]))
    # Everything is younger than 30 days: nothing is listed, and the report says why.
    assert camops([*args, "--max-age", "30d"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.strip().startswith("gate"))
    print(line)
    assert f"listed        0 in 0 day folders older than the cutoff ({len(day_folders)} newer not listed)" in line

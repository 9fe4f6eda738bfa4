"""`camops retention` and `camops stats` against a moto S3 server, through the real minio client.

One module-wide bucket holds 20,000 objects (10 cameras x 40 days x 50); each test
works on cameras of its own and checks what the others must not lose.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from camops_operator.cli import main as camops
from camops_workers.storage.keys import key_time
from tests.integration.retention.conftest import (
    ARCHIVE,
    CAMERAS,
    PREFIX,
    UPLOADED_BEFORE,
    Seeded,
    camera_objects,
    seeded_moto,
)
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY, MotoProcess, S3Server
from tests.support.clock import NOW

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMOPS_STORAGE_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("CAMOPS_STORAGE_SECRET_KEY", SECRET_KEY)
    monkeypatch.delenv("CAMOPS_STORAGE_CREDENTIALS_DIR", raising=False)


def base_args(seeded: Seeded, *extra: str) -> list[str]:
    return [
        "retention",
        "--bucket",
        seeded.bucket,
        "--endpoint",
        seeded.endpoint,
        "--insecure",
        "--prefix",
        PREFIX,
        "--now",
        seeded.now.isoformat(),
        *extra,
    ]


def expected_after_age(seeded: Seeded, camera: str, max_age: timedelta) -> dict[str, int]:
    cutoff = seeded.now - max_age
    return {
        k: v
        for k, v in seeded.under(f"{PREFIX}/{camera}/").items()
        if (t := key_time(k)) is None or t >= cutoff  # latest.jpg has no time and stays
    }


def test_dry_run_prints_the_plan_and_deletes_nothing(seeded: Seeded, capsys: pytest.CaptureFixture[str]) -> None:
    before = seeded.listing(f"{PREFIX}/cam9/")
    assert camops(base_args(seeded, "--max-age", "7d", "--dry-run", "--json", "--keys")) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dryRun"] is True
    assert report["camerasCovered"] == len(CAMERAS)
    assert report["objectsDeleted"] == 0
    would = {k for k in report["plannedKeys"] if k.startswith(f"{PREFIX}/cam9/")}
    assert would == set(before) - set(expected_after_age(seeded, "cam9", timedelta(days=7)))
    assert len(would) == 33 * 50  # days 7..39: even day 7's newest capture is 7d and 60s old
    assert seeded.listing(f"{PREFIX}/cam9/") == before


def test_seven_day_policy_leaves_exactly_the_expected_keys(seeded: Seeded, capsys: pytest.CaptureFixture[str]) -> None:
    assert camops(base_args(seeded, "--max-age", "7d", "--camera", "cam1", "--camera", "cam2")) == 0
    out = capsys.readouterr().out
    assert "deleted" in out
    for camera in ("cam1", "cam2"):
        assert seeded.listing(f"{PREFIX}/{camera}/") == expected_after_age(seeded, camera, timedelta(days=7))
    # cam10 starts with "cam1"; site-b/cam1 is the same camera name under another prefix: both untouched.
    assert seeded.listing(f"{PREFIX}/cam10/") == seeded.under(f"{PREFIX}/cam10/")
    assert seeded.listing("site-b/") == seeded.under("site-b/")
    assert len(seeded.listing(f"{PREFIX}/cam3/")) == 2001


def test_quota_deletes_the_oldest_until_under(seeded: Seeded) -> None:
    before = seeded.listing(f"{PREFIX}/cam3/")
    total = sum(before.values())
    quota = total // 4
    assert camops(base_args(seeded, "--max-age", "90d", "--max-bytes-per-camera", str(quota), "--camera", "cam3")) == 0
    after = seeded.listing(f"{PREFIX}/cam3/")
    assert sum(after.values()) <= quota
    assert f"{PREFIX}/cam3/latest.jpg" in after
    deleted = sorted(set(before) - set(after))  # dated keys sort in capture order
    kept = sorted(k for k in after if key_time(k) is not None)
    # The same LastModified second for all: oldest by key first, and no more than needed.
    assert deleted[-1] < kept[0]
    assert sum(after.values()) + before[deleted[-1]] > quota


def test_archive_copies_then_deletes(seeded: Seeded) -> None:
    args = base_args(seeded, "--max-age", "30d", "--archive-bucket", ARCHIVE, "--archive-after", "25d")
    assert camops([*args, "--camera", "cam4"]) == 0
    main = seeded.listing(f"{PREFIX}/cam4/")
    archived = seeded.listing(f"{PREFIX}/cam4/", bucket=ARCHIVE)
    assert main == expected_after_age(seeded, "cam4", timedelta(days=30))
    cutoff = seeded.now - timedelta(days=25)
    older_than_25d = {k: v for k, v in seeded.under(f"{PREFIX}/cam4/").items() if (t := key_time(k)) and t < cutoff}
    assert len(older_than_25d) == 750
    assert archived == older_than_25d  # same keys, same sizes; latest.jpg is never archived
    # A second run has nothing left to copy or delete.
    assert camops([*args, "--camera", "cam4", "--json"]) == 0


def test_archive_failures_keep_the_originals(
    seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Archive into a folder where the oldest day's folder cannot be created: its objects must stay.
    archive = tmp_path / "archive"
    oldest_day = seeded.now - timedelta(days=39)
    blocked = archive / PREFIX / "cam5" / f"{oldest_day:%Y-%m}" / f"{oldest_day:%d}"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("not a folder")
    code = camops(base_args(seeded, "--max-age", "30d", "--archive-dir", str(archive), "--camera", "cam5"))
    assert code == 1
    assert "archive" in capsys.readouterr().err
    main = seeded.listing(f"{PREFIX}/cam5/")
    day = f"{PREFIX}/cam5/{oldest_day:%Y-%m/%d}/"
    assert {k for k in main if k.startswith(day)} == set(seeded.under(day))  # nothing of the unarchivable day went
    copied = {str(p.relative_to(archive)) for p in archive.rglob("*.jpg")}
    gone = set(seeded.under(f"{PREFIX}/cam5/")) - set(main)
    assert len(gone) == 9 * 50  # days 30..38 went, each archived first
    assert gone <= copied


def test_clock_wrong_objects_young_by_last_modified_are_kept(capsys: pytest.CaptureFixture[str]) -> None:
    uploaded = NOW
    # Key dates say 10 to 30 days old; the objects were uploaded just now.
    objects = dict(list(camera_objects(uploaded - timedelta(days=10), "door", prefix="").items())[:300])
    with seeded_moto({"clock": objects}, modified=uploaded) as endpoint:
        common = ["retention", "--bucket", "clock", "--endpoint", endpoint, "--insecure", "--max-age", "7d", "--json"]
        assert camops([*common, "--now", (uploaded + timedelta(hours=1)).isoformat()]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["objectsDeleted"] == 0
        assert report["cameras"][0]["protected_young"] == 300
        # A week later the store agrees they are old: now they go.
        assert camops([*common, "--now", (uploaded + timedelta(days=8)).isoformat()]) == 0
        assert json.loads(capsys.readouterr().out)["objectsDeleted"] == 300


def test_a_run_killed_half_way_finishes_cleanly_when_run_again(seeded: Seeded) -> None:
    env = {**os.environ, "CAMOPS_STORAGE_ACCESS_KEY": ACCESS_KEY, "CAMOPS_STORAGE_SECRET_KEY": SECRET_KEY}
    args = base_args(seeded, "--max-age", "30d", "--archive-bucket", ARCHIVE, "--camera", "cam7", "--camera", "cam8")
    cmd = [sys.executable, "-m", "camops_operator.cli", *args]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    copied = 0
    while time.monotonic() < deadline and proc.poll() is None:
        copied = len(seeded.listing(f"{PREFIX}/cam7/", bucket=ARCHIVE))
        if copied >= 100:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed half-way"
    assert copied >= 100
    final = {c: expected_after_age(seeded, c, timedelta(days=30)) for c in ("cam7", "cam8")}
    assert any(seeded.listing(f"{PREFIX}/{c}/") != final[c] for c in final), "nothing was left half-way"
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    for camera in ("cam7", "cam8"):
        kept = final[camera]
        assert seeded.listing(f"{PREFIX}/{camera}/") == kept
        old = {k: v for k, v in seeded.under(f"{PREFIX}/{camera}/").items() if k not in kept}
        assert len(old) == 500
        assert seeded.listing(f"{PREFIX}/{camera}/", bucket=ARCHIVE) == old


def test_stats_table_and_json(seeded: Seeded, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["stats", "--bucket", seeded.bucket, "--endpoint", seeded.endpoint, "--insecure", "--prefix", "site-b"]
    assert camops([*common, "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["objects"] == 200
    assert stats["cameras"]["cam1"]["bytes"] == sum(seeded.under("site-b/").values())
    assert camops(common) == 0
    table = capsys.readouterr().out
    assert "cam1" in table
    assert "TOTAL" in table


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--max-age", "7 days"], "invalid duration"),
        (["--max-age", "7d", "--bucket-typo"], None),
        (["--max-age", "0s"], "longer than 0s"),
        (["--max-age", "7d", "--max-bytes-per-camera", "lots"], "invalid quantity"),
    ],
)
def test_bad_input_exits_non_zero_and_deletes_nothing(
    seeded: Seeded, capsys: pytest.CaptureFixture[str], extra: list[str], message: str | None
) -> None:
    before = seeded.listing(f"{PREFIX}/cam6/")
    if message is None:
        with pytest.raises(SystemExit) as exc:
            camops([*base_args(seeded, "--camera", "cam6"), *extra])
        assert exc.value.code == 2
    else:
        assert camops([*base_args(seeded, "--camera", "cam6"), *extra]) == 2
        assert message in capsys.readouterr().err
    assert seeded.listing(f"{PREFIX}/cam6/") == before


def test_missing_bucket_and_refused_credentials(
    seeded: Seeded, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["retention", "--endpoint", seeded.endpoint, "--insecure", "--max-age", "1d"]
    assert camops([*args, "--bucket", "no-such-bucket"]) == 2
    assert "no-such-bucket" in capsys.readouterr().err
    assert camops([*args, "--bucket", seeded.bucket, "--archive-bucket", "no-such-archive"]) == 2
    assert "no-such-archive" in capsys.readouterr().err
    monkeypatch.delenv("CAMOPS_STORAGE_SECRET_KEY")
    assert camops([*args, "--bucket", seeded.bucket]) == 2
    err = capsys.readouterr().err
    assert "credentials" in err
    assert ACCESS_KEY not in err
    assert len(seeded.listing(f"{PREFIX}/cam6/")) == 2001


def test_no_permission_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with seeded_moto({"locked": {"door/2020-01/01/000000.000.jpg": 5}}, enforce_auth=True) as endpoint:
        common = ["--bucket", "locked", "--endpoint", endpoint, "--insecure"]
        assert camops(["retention", *common, "--max-age", "1d"]) == 2
        err = capsys.readouterr().err
        assert "InvalidAccessKeyId" in err
        assert SECRET_KEY not in err
        assert camops(["stats", *common]) == 2
        assert "InvalidAccessKeyId" in capsys.readouterr().err


def test_storage_down_exits_1_and_the_next_run_deletes(capsys: pytest.CaptureFixture[str]) -> None:
    now = NOW
    objects = dict(list(camera_objects(now, "door", prefix="").items())[::40])  # 50 over 40 days
    with seeded_moto({"flaky": objects}, modified=now - UPLOADED_BEFORE) as endpoint:
        backend = MotoProcess()
        backend.port = int(endpoint.rpartition(":")[2])
        relay = S3Server(backend)  # storage that can go away and come back, objects kept
        relay.start()
        try:
            args = ["retention", "--bucket", "flaky", "--endpoint", relay.endpoint, "--insecure", "--max-age", "7d"]
            args += ["--now", now.isoformat()]
            relay.stop()
            assert camops(args) == 1
            assert "flaky" in capsys.readouterr().err
            relay.start()
            assert camops([*args, "--json"]) == 0
            report = json.loads(capsys.readouterr().out)
            old = {k for k in objects if (t := key_time(k)) is not None and t < now - timedelta(days=7)}
            assert report["objectsDeleted"] == len(old) > 0
            client: Any = relay.client()
            left = {o.object_name for o in client.list_objects("flaky", recursive=True)}
            assert left == set(objects) - old
        finally:
            relay.stop()

"""`camops retention` against moto at each of the fixed dates of tests.support.clock.

Month ends, a leap day, the last minute of a year and the night summer time ends in
Berlin: the date folders the lister skips or reads, the cutoff to the millisecond and
the archive all work the same whatever day a run falls on. A small bucket per date
(45 days x 4 captures for each of three cameras) keeps the whole matrix a few seconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from camops_operator.cli import main as camops
from camops_workers.storage.keys import key_time, latest_key, object_key
from tests.integration.retention.conftest import Seeded, seeded_moto
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY

DAYS = 45
PER_DAY = 4
PREFIX = "site"
CAMERAS = ("door", "gate", "yard")
ZONE = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMOPS_STORAGE_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("CAMOPS_STORAGE_SECRET_KEY", SECRET_KEY)
    monkeypatch.delenv("CAMOPS_STORAGE_CREDENTIALS_DIR", raising=False)


@pytest.fixture(scope="module")
def bucket(dated_now: datetime) -> Iterator[Seeded]:
    """Each camera: 4 captures a day for 45 days back from ``now``, plus one a millisecond each side of 7 days.

    Ages are absolute (a day is 24 h, in UTC): arithmetic on a time in a zone with summer time would be wall time.
    """
    now = dated_now.astimezone(UTC)
    data = Seeded(endpoint="", bucket="dates", now=now)
    for camera in CAMERAS:
        moments = [now - timedelta(days=d, hours=6 * i, minutes=1) for d in range(DAYS) for i in range(PER_DAY)]
        moments += [now - timedelta(days=7, milliseconds=1), now - timedelta(days=7, milliseconds=-1)]
        for n, when in enumerate(moments):
            data.objects[object_key("dated", PREFIX, camera, when, "jpg")] = 10 + n % 7
        data.objects[latest_key(PREFIX, camera)] = 5
    with seeded_moto({data.bucket: data.objects}, modified=now - timedelta(days=DAYS + 1)) as endpoint:
        data.endpoint = endpoint
        yield data


def run(data: Seeded, *args: str, now: datetime | None = None) -> list[str]:
    """The command line; ``--now`` in the date's own zone (``+01:00`` on the DST night), as a user would write it."""
    common = ["retention", "--bucket", data.bucket, "--endpoint", data.endpoint, "--insecure", "--prefix", PREFIX]
    moment = now if now is not None else data.now
    return [*common, "--now", moment.astimezone(ZONE).isoformat(), *args]


def older_than(data: Seeded, camera: str, age: timedelta) -> set[str]:
    cutoff = data.now - age
    return {k for k in data.under(f"{PREFIX}/{camera}/") if (t := key_time(k)) is not None and t < cutoff}


def test_a_week_goes_to_the_millisecond_across_month_and_year_ends(
    bucket: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    week = timedelta(days=7)
    expected = older_than(bucket, "door", week)
    assert len(expected) == (DAYS - 7) * PER_DAY + 1  # and the capture one millisecond past the cutoff
    assert camops(run(bucket, "--max-age", "7d", "--camera", "door", "--dry-run", "--json", "--keys")) == 0
    plan = json.loads(capsys.readouterr().out)
    assert set(plan["plannedKeys"]) == expected
    assert camops(run(bucket, "--max-age", "7d", "--camera", "door", "--json")) == 0
    report = json.loads(capsys.readouterr().out)
    print(f"{bucket.now.isoformat()}: deleted {report['objectsDeleted']} of {len(bucket.under(f'{PREFIX}/door/'))}")
    assert report["objectsDeleted"] == len(expected)
    left = bucket.listing(f"{PREFIX}/door/")
    assert set(left) == set(bucket.under(f"{PREFIX}/door/")) - expected
    assert bucket.listing(f"{PREFIX}/gate/") == bucket.under(f"{PREFIX}/gate/")


def test_an_unarchivable_day_keeps_its_objects_and_the_rest_go(
    bucket: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "archive"
    oldest = min(t for k in bucket.under(f"{PREFIX}/gate/") if (t := key_time(k)) is not None)
    blocked = archive / PREFIX / "gate" / f"{oldest:%Y-%m}" / f"{oldest:%d}"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("not a folder")
    assert camops(run(bucket, "--max-age", "30d", "--archive-dir", str(archive), "--camera", "gate")) == 1
    assert "archive" in capsys.readouterr().err
    day = f"{PREFIX}/gate/{oldest:%Y-%m/%d}/"
    stuck = set(bucket.under(day))
    assert stuck
    left = set(bucket.listing(f"{PREFIX}/gate/"))
    gone = set(bucket.under(f"{PREFIX}/gate/")) - left
    assert gone == older_than(bucket, "gate", timedelta(days=30)) - stuck
    assert gone == {p.relative_to(archive).as_posix() for p in archive.rglob("*.jpg")}


def test_the_next_days_run_deletes_exactly_one_more_day(bucket: Seeded, capsys: pytest.CaptureFixture[str]) -> None:
    # A second run the next day deletes exactly that day's captures: no folder is skipped or re-read wrongly.
    args = ("--max-age", "40d", "--camera", "yard", "--json")
    assert camops(run(bucket, *args)) == 0
    first = json.loads(capsys.readouterr().out)["objectsDeleted"]
    assert first == len(older_than(bucket, "yard", timedelta(days=40)))
    assert camops(run(bucket, *args, now=bucket.now + timedelta(days=1))) == 0
    second = json.loads(capsys.readouterr().out)["objectsDeleted"]
    assert first + second == len(older_than(bucket, "yard", timedelta(days=39)))
    assert second == PER_DAY

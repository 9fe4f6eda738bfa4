"""Cron schedules of RetentionPolicies, evaluated by `camops local` (the cluster uses a CronJob)."""

from datetime import UTC, datetime

import pytest

from camops_operator.local.schedule import next_run, parse_cron


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        ("0 3 * * *", "2026-11-22T02:59:59", "2026-11-22T03:00"),
        ("0 3 * * *", "2026-11-22T03:00:00", "2026-11-23T03:00"),  # strictly after
        ("15 3 * * *", "2026-11-22T12:00", "2026-11-23T03:15"),
        ("*/15 * * * *", "2026-11-22T12:07:30", "2026-11-22T12:15"),
        ("*/15 * * * *", "2026-11-22T23:59", "2026-11-23T00:00"),
        ("0 0 1 * *", "2026-12-15T00:00", "2027-01-01T00:00"),
        ("@daily", "2026-11-22T10:00", "2026-11-23T00:00"),
        ("@hourly", "2026-11-22T10:00", "2026-11-22T11:00"),
        ("@weekly", "2026-11-22T10:00", "2026-11-29T00:00"),  # 2026-11-22 is a Sunday
        ("0 9 * * mon-fri", "2026-11-21T10:00", "2026-11-23T09:00"),  # Saturday -> Monday
        ("0 9 * * 7", "2026-11-21T10:00", "2026-11-22T09:00"),  # 7 is Sunday too
        ("0 0 13 * 5", "2026-11-01T00:00", "2026-11-06T00:00"),  # day 13 OR a Friday
        ("30 4 29 feb *", "2026-03-01T00:00", "2028-02-29T04:30"),
        ("0 12 * jan,jul *", "2026-11-22T00:00", "2027-01-01T12:00"),
        ("5-10/5 1 * * *", "2026-11-22T01:06", "2026-11-22T01:10"),
    ],
)
def test_next_run(schedule: str, after: str, expected: str) -> None:
    assert next_run(schedule, at(after)) == at(expected)


def test_the_time_zone_of_after_is_kept() -> None:
    from datetime import timedelta, timezone

    berlin_winter = timezone(timedelta(hours=1))
    after = datetime(2026, 11, 22, 2, 0, tzinfo=berlin_winter)
    assert next_run("0 3 * * *", after) == datetime(2026, 11, 22, 3, 0, tzinfo=berlin_winter)


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("0 3 * *", "expected five fields"),
        ("61 * * * *", "minute"),
        ("0 24 * * *", "hour"),
        ("0 0 0 * *", "day of month"),
        ("0 0 * 13 *", "month"),
        ("0 0 * * funday", "day of week"),
        ("*/0 * * * *", "step"),
    ],
)
def test_bad_schedules_name_the_field(schedule: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_cron(schedule)


def test_a_schedule_that_never_fires_is_an_error() -> None:
    with pytest.raises(ValueError, match="never fires"):
        next_run("0 0 30 2 *", at("2026-01-01T00:00"))

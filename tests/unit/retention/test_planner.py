"""The planner's rules on synthetic listings: age, the LastModified guard, quota, archive, prefixes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from camops_workers.retention.planner import CameraScope, Reason, RetentionRules, plan_camera, plan_run
from camops_workers.storage.base import StoredObject
from camops_workers.storage.keys import Layout, latest_key, object_key

NOW = datetime(2026, 3, 20, 12, 0, 0, tzinfo=UTC)
DAY = 86400.0
SCOPE = CameraScope("door", "site-a")


def obj(key: str, age_days: float, size: int = 100) -> StoredObject:
    return StoredObject(key=key, size=size, last_modified=NOW - timedelta(days=age_days))


def dated(age_days: float, camera: str = "door", prefix: str = "site-a", ext: str = "jpg") -> str:
    return object_key(Layout.DATED, prefix, camera, NOW - timedelta(days=age_days), ext)


def keys(objects: tuple[StoredObject, ...]) -> set[str]:
    return {o.key for o in objects}


def test_deletes_what_is_older_than_max_age_and_keeps_the_rest() -> None:
    listing = [obj(dated(d), d) for d in (0.5, 3, 6.9, 7.1, 10, 40)]
    plan = plan_camera(SCOPE, listing, NOW, RetentionRules(max_age_s=7 * DAY))
    assert keys(plan.delete) == {dated(7.1), dated(10), dated(40)}
    assert plan.kept == 3
    assert plan.count(Reason.AGE) == 3


def test_young_last_modified_protects_an_object_whose_key_date_is_old() -> None:
    # The camera's clock was a month behind: the key says 30 days, the store says 1 hour.
    wrong_clock = StoredObject(dated(30), 100, NOW - timedelta(hours=1))
    plan = plan_camera(SCOPE, [wrong_clock, obj(dated(20), 20)], NOW, RetentionRules(max_age_s=7 * DAY))
    assert keys(plan.delete) == {dated(20)}
    assert plan.protected_young == 1


def test_a_young_key_date_is_kept_even_when_last_modified_is_old() -> None:
    # Consistent with the lister, which never reads young date folders.
    plan = plan_camera(SCOPE, [obj(dated(1), 30)], NOW, RetentionRules(max_age_s=7 * DAY))
    assert plan.delete == ()


def test_latest_foreign_and_nested_keys_are_never_candidates() -> None:
    scope = CameraScope("site", "")
    listing = [
        obj(latest_key("", "site"), 400),
        obj("site/notes.txt", 400),
        obj("site/2025-01/01/readme.md", 400),
        obj(dated(400, camera="door", prefix="site"), 400),  # camera "door" under prefix "site"
        obj(dated(400, camera="site", prefix=""), 400),
    ]
    plan = plan_camera(scope, listing, NOW, RetentionRules(max_age_s=DAY, max_bytes=0))
    assert keys(plan.delete) == {dated(400, camera="site", prefix="")}
    assert plan.skipped_other == 4


def test_other_cameras_and_prefix_neighbours_are_ignored() -> None:
    listing = [obj(dated(30), 30), obj(dated(30, camera="door2"), 30), obj(dated(30, prefix="site-b"), 30)]
    plan = plan_camera(SCOPE, listing, NOW, RetentionRules(max_age_s=DAY))
    assert keys(plan.delete) == {dated(30)}
    assert plan.listed == 1


def test_flat_layout_and_analysis_results() -> None:
    scope = CameraScope("door", "site-a", Layout.FLAT)
    old = object_key(Layout.FLAT, "site-a", "door", NOW - timedelta(days=9), "jpg")
    young = object_key(Layout.FLAT, "site-a", "door", NOW - timedelta(days=2), "jpg")
    listing = [obj(old, 9), obj(old + ".json", 9), obj(young, 2)]
    plan = plan_camera(scope, listing, NOW, RetentionRules(max_age_s=7 * DAY))
    assert keys(plan.delete) == {old, old + ".json"}


def test_quota_deletes_oldest_first_until_under() -> None:
    listing = [obj(dated(d), d, size=100) for d in range(1, 6)] + [obj(latest_key("site-a", "door"), 0, 100)]
    plan = plan_camera(SCOPE, listing, NOW, RetentionRules(max_age_s=30 * DAY, max_bytes=350))
    # 600 bytes stored; latest.jpg cannot go; the three oldest do.
    assert keys(plan.delete) == {dated(5), dated(4), dated(3)}
    assert plan.kept_bytes == 300
    assert plan.count(Reason.QUOTA) == 3


def test_quota_orders_by_last_modified_not_by_key() -> None:
    a = StoredObject(dated(5), 100, NOW - timedelta(days=1))  # old key, new upload
    b = StoredObject(dated(1), 100, NOW - timedelta(days=3))
    plan = plan_camera(SCOPE, [a, b], NOW, RetentionRules(max_age_s=30 * DAY, max_bytes=100))
    assert keys(plan.delete) == {b.key}


def test_quota_and_age_together() -> None:
    listing = [obj(dated(d), d, size=100) for d in (1, 2, 3, 10, 20)]
    plan = plan_camera(SCOPE, listing, NOW, RetentionRules(max_age_s=7 * DAY, max_bytes=200))
    assert plan.count(Reason.AGE) == 2
    assert plan.count(Reason.QUOTA) == 1
    assert keys(plan.delete) == {dated(3), dated(10), dated(20)}


def test_archive_copies_everything_it_deletes_and_what_is_older_than_after() -> None:
    listing = [obj(dated(d), d) for d in (1, 4, 8, 9)]
    rules = RetentionRules(max_age_s=7 * DAY, archive_after_s=3 * DAY)
    already = {dated(9): 100, dated(4): 99}  # dated(4)'s copy is short: copy again
    plan = plan_camera(SCOPE, listing, NOW, rules, already)
    assert keys(plan.delete) == {dated(8), dated(9)}
    assert keys(plan.archive) == {dated(4), dated(8)}


def test_archive_after_longer_than_max_age_still_archives_before_deleting() -> None:
    listing = [obj(dated(d), d) for d in (1, 8)]
    plan = plan_camera(SCOPE, listing, NOW, RetentionRules(max_age_s=7 * DAY, archive_after_s=30 * DAY), {})
    assert keys(plan.archive) == keys(plan.delete) == {dated(8)}


def test_archive_covers_quota_deletes() -> None:
    listing = [obj(dated(d), d) for d in (1, 2)]
    rules = RetentionRules(max_age_s=7 * DAY, max_bytes=100, archive_after_s=7 * DAY)
    plan = plan_camera(SCOPE, listing, NOW, rules, {})
    assert keys(plan.archive) == keys(plan.delete) == {dated(2)}


def test_listing_cutoff() -> None:
    assert RetentionRules(max_age_s=7 * DAY).listing_cutoff(NOW) == NOW - timedelta(days=7)
    assert RetentionRules(max_age_s=7 * DAY, archive_after_s=DAY).listing_cutoff(NOW) == NOW - timedelta(days=1)
    assert RetentionRules(max_age_s=7 * DAY, max_bytes=10).listing_cutoff(NOW) is None


@pytest.mark.parametrize(
    "kwargs", [{"max_age_s": 0}, {"max_age_s": DAY, "max_bytes": -1}, {"max_age_s": DAY, "archive_after_s": -1}]
)
def test_bad_rules(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        RetentionRules(**kwargs)  # type: ignore[arg-type]


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_camera(SCOPE, [], NOW.replace(tzinfo=None), RetentionRules(max_age_s=DAY))


def test_plan_run_gives_each_camera_only_its_own_keys() -> None:
    a = CameraScope("door", "site-a")
    listing = [obj(dated(9), 9)]
    plans = plan_run({a: listing, CameraScope("gate", "site-a"): listing}, NOW, RetentionRules(max_age_s=DAY))
    assert [len(p.delete) for p in plans] == [1, 0]

"""Retention benchmark: batched deletes against one-by-one, the planner at a million keys, and
how much a date-folder listing saves.

Run: ``.venv/bin/python bench/retention.py [--quick]``. Everything is measured in this run,
against a moto S3 server (its own process, buckets filled in-process so seeding is quick)
through the real minio client and camops' ``MinioStore``.

- batch_vs_single: deleting N objects with one ``remove([key])`` call each, divided by deleting
  another N with ``remove(keys)`` (DeleteObjects, 1000 keys a request); same server, same
  sizes (N = 10,000; ``--quick`` 2,000). Goal >= 20.
- plan_1m_keys_s: the pure planner over 1,000,000 listed objects of one camera (40 days,
  7-day max age; the listing is built before timing), in CPU seconds of this process
  (``time.process_time``: the planner is pure computation, and other load on a shared
  machine would otherwise count; the wall time is printed beside it). Goal <= 5. Also
  reported with a per-camera quota and an archive (sorting and the archive set included).
- listed_share_7d: objects a 7-day run lists through date folders ÷ objects the camera
  stores (40 days of history, run daily); and the wall time of that run (deletes included).

The last line of output is one JSON object with these figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, bench/ itself is sys.path[0], where bench/queue.py would shadow the standard library.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from camops_workers.retention.job import run_retention  # noqa: E402
from camops_workers.retention.planner import CameraScope, RetentionRules, plan_camera  # noqa: E402
from camops_workers.storage.base import StoredObject  # noqa: E402
from camops_workers.storage.keys import Layout, object_key  # noqa: E402
from camops_workers.storage.s3 import MinioStore  # noqa: E402
from tests.integration.retention.conftest import seeded_moto  # noqa: E402
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY  # noqa: E402

DAY = 86400.0


def dated_keys(camera: str, count: int, now: datetime, days: int = 40) -> list[str]:
    """``count`` dated keys spread evenly over ``days`` before ``now``."""
    step = days * DAY / count
    return [
        object_key(Layout.DATED, "bench", camera, now - timedelta(seconds=60 + i * step), "jpg") for i in range(count)
    ]


def bench_deletes(count: int) -> dict[str, float]:
    # moto stamps LastModified with the upload time: lay the key dates out before a virtual
    # "now" 41 days after it, so every object is as old by LastModified as its key says or older.
    now = datetime.now(UTC) + timedelta(days=41)
    single, batch, listed = (dated_keys(c, count, now) for c in ("single", "batch", "listed"))
    seed = {"bench": dict.fromkeys(single + batch + listed, 100)}
    with seeded_moto(seed) as endpoint:
        store = MinioStore(endpoint, "bench", access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False)
        started = time.perf_counter()
        failures = 0
        for key in single:
            failures += len(store.remove([key]))
        single_s = time.perf_counter() - started
        started = time.perf_counter()
        failures += len(store.remove(batch))
        batch_s = time.perf_counter() - started
        if failures:
            raise SystemExit(f"{failures} deletes failed")
        left = sum(1 for _ in store.list_objects("bench/single/")) + sum(1 for _ in store.list_objects("bench/batch/"))
        if left:
            raise SystemExit(f"{left} objects left after deleting")
        # A daily 7-day run over 40 days of history: the previous run already removed
        # everything older than 8 days, so plan as of one day after that state.
        scope = CameraScope("listed", "bench")
        rules = RetentionRules(max_age_s=7 * DAY)
        run_retention(store, [scope], rules, now)  # yesterday's run (not timed)
        remaining = sum(1 for _ in store.list_objects(scope.key_prefix))
        started = time.perf_counter()
        report = run_retention(store, [scope], rules, now + timedelta(days=1))
        run_s = time.perf_counter() - started
    return {
        "single_s": single_s,
        "batch_s": batch_s,
        "batch_vs_single": single_s / batch_s,
        "listed": report.cameras[0].listed,
        "stored": remaining,
        "deleted_next_day": report.deleted,
        "run_s": run_s,
    }


def bench_planner(count: int) -> dict[str, float]:
    now = datetime(2026, 3, 20, 12, tzinfo=UTC)
    step = 40 * DAY / count
    listing = []
    for i in range(count):
        when = now - timedelta(seconds=60 + i * step)
        listing.append(StoredObject(object_key(Layout.DATED, "site", "door", when, "jpg"), 50_000, when))
    scope = CameraScope("door", "site")
    timings: dict[str, float] = {}
    for name, rules in (
        ("age", RetentionRules(max_age_s=7 * DAY)),
        ("quota_archive", RetentionRules(max_age_s=30 * DAY, max_bytes=count * 50_000 // 3, archive_after_s=7 * DAY)),
    ):
        started, cpu = time.perf_counter(), time.process_time()
        plan = plan_camera(scope, listing, now, rules, {})
        timings[f"{name}_cpu"] = time.process_time() - cpu
        timings[f"{name}_wall"] = time.perf_counter() - started
        timings[f"{name}_deleted"] = len(plan.delete)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000 objects per delete run instead of 10,000")
    args = parser.parse_args()
    count = 2_000 if args.quick else 10_000
    deletes = bench_deletes(count)
    planner = bench_planner(1_000_000)
    rows = [
        (f"delete {count:,} one by one", f"{deletes['single_s']:.2f} s"),
        (f"delete {count:,} in batches of 1000", f"{deletes['batch_s']:.3f} s"),
        ("batch vs single", f"{deletes['batch_vs_single']:.1f}x (goal >= 20)"),
        (
            "plan 1,000,000 keys, 7d",
            f"{planner['age_cpu']:.2f} s CPU (goal <= 5; {planner['age_wall']:.2f} s wall), "
            f"{planner['age_deleted']:,.0f} to delete",
        ),
        (
            "plan 1,000,000 keys, quota+archive",
            f"{planner['quota_archive_cpu']:.2f} s CPU ({planner['quota_archive_wall']:.2f} s wall)",
        ),
        (
            "daily 7d run: listed / stored",
            f"{deletes['listed']:,.0f} / {deletes['stored']:,.0f} objects, {deletes['run_s']:.2f} s "
            f"({deletes['deleted_next_day']:,.0f} deleted)",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(
        json.dumps(
            {
                "batch_vs_single": round(deletes["batch_vs_single"], 1),
                "plan_1m_keys_s": round(planner["age_cpu"], 3),
                "plan_1m_keys_wall_s": round(planner["age_wall"], 3),
                "plan_1m_keys_quota_archive_s": round(planner["quota_archive_cpu"], 3),
                "delete_single_s": round(deletes["single_s"], 3),
                "delete_batch_s": round(deletes["batch_s"], 3),
                "objects_per_delete_run": count,
                "listed_share_7d": round(deletes["listed"] / max(deletes["stored"], 1), 3),
                "daily_run_s": round(deletes["run_s"], 3),
            }
        )
    )


if __name__ == "__main__":
    main()

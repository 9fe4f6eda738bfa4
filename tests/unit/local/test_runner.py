"""What the runner makes of a worker's status report, and the secret files it writes."""

import stat
from datetime import UTC, datetime
from pathlib import Path

from camops_operator.local.runner import QueueBaseline, view_from_status, write_secret_files
from camops_operator.local.status import CameraView
from camops_workers.capture.worker import WorkerState
from camops_workers.queue.durable import QueueStats
from camops_workers.runtime import WorkerStatus

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _status(uploaded: int, dropped: int) -> WorkerStatus:
    capture = WorkerState(
        source_state="connected",
        snapshots=7,
        segments=2,
        bytes=5000,
        reconnects=1,
        decode_errors=0,
        source_errors=1,
        last_snapshot_at=NOW,
        last_snapshot_key="gate/2026-11/22/120000.000.jpg",
        last_error="timed out",
    )
    queue = QueueStats(depth=3, bytes=900, oldest_age_s=2.0, failed=1, dropped=dropped, expired=1, uploaded=uploaded)
    return WorkerStatus(camera="gate", capture=capture, queue=queue, breaker_state="half-open", storage_error="refused")


def test_queue_counters_count_this_run_only() -> None:
    view = view_from_status(_status(uploaded=110, dropped=4), CameraView(name="gate"), QueueBaseline(100, 2))
    assert (view.uploaded, view.dropped) == (10, 3)  # dropped includes expired
    assert (view.state, view.snapshots, view.segments, view.bytes) == ("connected", 7, 2, 5000)
    assert (view.queue_depth, view.queue_bytes, view.failed, view.reconnects) == (3, 900, 1, 1)
    assert (view.storage_state, view.storage_error, view.last_error) == ("half-open", "refused", "timed out")
    assert view.last_snapshot_at == NOW


def test_secret_files_are_readable_by_this_user_only(tmp_path: Path) -> None:
    root = tmp_path / "secrets"
    target = root / "gate" / "camera" / "password"
    write_secret_files({str(target): "pa55"}, root=root)
    assert target.read_text() == "pa55"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    for folder in (root, root / "gate", root / "gate" / "camera"):  # every folder, not only the file's own
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    write_secret_files({str(target): "new"})  # rewritten, never appended
    assert target.read_text() == "new"

"""The live status line and the end-of-run summary of `camops local`."""

from datetime import UTC, datetime, timedelta

from camops_operator.local.status import ITEMS_NOTE, CameraView, ago, render_block, render_line, render_summary

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


def test_a_healthy_camera_shows_its_counts_and_freshness() -> None:
    view = CameraView(
        name="gate",
        state="connected",
        snapshots=12,
        segments=2,
        bytes=3 * 1024 * 1024,
        queue_depth=1,
        last_snapshot_at=NOW - timedelta(seconds=3),
    )
    line = render_line(view, NOW)
    assert line.split() == [
        "gate", "capturing", "snapshots", "12", "segments", "2", "3.0", "MiB", "queue", "1", "last", "3s", "ago",
    ]  # fmt: skip


def test_a_camera_that_is_down_shows_its_redacted_error() -> None:
    view = CameraView(
        name="gate", state="backoff", last_error="connection refused: rtsp://admin:s3cret@10.0.0.1/stream"
    )
    line = render_line(view, NOW)
    assert "retrying" in line
    assert "last never" in line
    assert "error: connection refused: rtsp://***@10.0.0.1/stream" in line
    assert "s3cret" not in line


def test_an_error_that_is_over_is_not_shown_while_capturing() -> None:
    view = CameraView(name="gate", state="connected", last_error="timeout")
    assert "error" not in render_line(view, NOW)


def test_storage_trouble_wins_over_the_source_error() -> None:
    view = CameraView(
        name="gate",
        state="backoff",
        last_error="timeout",
        queue_depth=40,
        storage_state="open",
        storage_error="connection refused to 127.0.0.1:9000",
    )
    assert render_line(view, NOW).endswith(
        "queue   40  last never  error: storage open: connection refused to 127.0.0.1:9000"
    )


def test_drops_are_shown_and_lines_fit_the_terminal() -> None:
    view = CameraView(name="gate", state="connected", dropped=7, last_error=None)
    assert "dropped 7" in render_line(view, NOW)
    short = render_line(CameraView(name="gate", state="backoff", last_error="x" * 200), NOW, width=60)
    assert len(short) == 60
    assert short.endswith("…")


def test_names_are_aligned_in_a_block() -> None:
    lines = render_block([CameraView(name="a"), CameraView(name="longer-name")], NOW)
    assert lines[0].index("starting") == lines[1].index("starting")


def test_ago() -> None:
    assert ago(None, NOW) == "never"
    assert ago(NOW - timedelta(seconds=59), NOW) == "59s ago"
    assert ago(NOW - timedelta(minutes=5, seconds=10), NOW) == "5m ago"
    assert ago(NOW - timedelta(hours=3), NOW) == "3h ago"
    assert ago(NOW + timedelta(seconds=2), NOW) == "0s ago"


def test_summary_lists_each_camera_and_what_is_still_queued() -> None:
    views = [
        CameraView(name="stream", snapshots=10, segments=0, bytes=2048, uploaded=10),
        CameraView(name="recorder", snapshots=2, segments=3, bytes=10**6, uploaded=4, queue_depth=1),
    ]
    lines = render_summary(views, elapsed_s=20.4, location="./camops-data")
    assert lines[0] == "camops local ran 20s; objects are in ./camops-data"
    assert lines[1].split()[:4] == ["camera", "snapshots", "segments", "bytes"]
    assert lines[2].split()[:4] == ["stream", "10", "0", "2.0"]
    assert lines[3].split()[:3] == ["recorder", "2", "3"]
    assert lines[-1].startswith("1 item(s) are still in the offline queue")


def test_summary_says_its_upload_column_counts_items_not_snapshots() -> None:
    # 10 snapshots are 20 items (each with its latest.thumb.jpg): the column is named for what it counts
    lines = render_summary([CameraView(name="a", snapshots=10, uploaded=20)], elapsed_s=1, location="d")
    header = lines[1].split()
    assert header[4] == "uploaded"
    assert "stored" not in header
    assert lines[2].split()[5] == "20"  # after the bytes ("0 B")
    assert lines[3] == ITEMS_NOTE
    assert "a snapshot is two" in ITEMS_NOTE


def test_summary_without_a_backlog_says_nothing_about_the_queue() -> None:
    lines = render_summary([CameraView(name="a", snapshots=1, uploaded=2)], elapsed_s=1, location="d")
    assert len(lines) == 4
    assert lines[3] == ITEMS_NOTE
    assert ITEMS_NOTE not in render_summary([CameraView(name="a")], elapsed_s=1, location="d")  # nothing counted


def test_errors_are_counted_live_and_a_recovered_one_is_named_in_the_summary() -> None:
    view = CameraView(
        name="gate", state="connected", snapshots=5, source_errors=3, error_seen="unexpected KeyError: 'x'"
    )
    assert "errors 3" in render_line(view, NOW)
    assert "error:" not in render_line(view, NOW)  # over: not shown as a current problem
    row = render_summary([view], elapsed_s=5, location="d")[2]
    assert row.split()[8:10] == ["0", "3"]  # reconnects, errors
    assert row.endswith("unexpected KeyError: 'x' (recovered)")
    down = render_summary([CameraView(name="gate", state="backoff", last_error="refused")], elapsed_s=5, location="d")
    assert down[2].endswith("refused")


def test_summary_says_where_items_refused_for_good_are() -> None:
    lines = render_summary([CameraView(name="a", snapshots=3, uploaded=2, failed=1)], elapsed_s=1, location="d")
    assert "1 item(s) the store refused for good are parked as failed" in lines[-1]

"""Live lines: redrawn in place on a terminal, printed every few seconds into a pipe or a log."""

import io
from datetime import UTC, datetime

from camops_operator.local.display import LiveDisplay
from camops_operator.local.runner import PolicyView
from camops_operator.local.session import policy_lines


def test_on_a_terminal_the_block_is_redrawn_in_place() -> None:
    out = io.StringIO()
    display = LiveDisplay(out, tty=True)
    display.show(["a 1", "b 1"], now_s=0.0, stamp="t")
    display.show(["a 2", "b 2"], now_s=0.5, stamp="t")
    assert out.getvalue() == "\x1b[2Ka 1\n\x1b[2Kb 1\n" + "\x1b[2F\x1b[2Ka 2\n\x1b[2Kb 2\n"


def test_a_shrinking_block_leaves_no_stale_lines() -> None:
    out = io.StringIO()
    display = LiveDisplay(out, tty=True)
    display.show(["a", "b", "c"], now_s=0.0, stamp="t")
    display.show(["a"], now_s=1.0, stamp="t")
    assert out.getvalue().endswith("\x1b[3F\x1b[2Ka\n\x1b[2K\n\x1b[2K\n")


def test_off_a_terminal_lines_are_printed_at_most_every_few_seconds_with_a_stamp() -> None:
    out = io.StringIO()
    display = LiveDisplay(out, tty=False, every_s=5.0)
    for second in range(11):
        display.show([f"cam {second}"], now_s=float(second), stamp=f"00:00:{second:02d}")
    assert out.getvalue().splitlines() == ["[00:00:00] cam 0", "[00:00:05] cam 5", "[00:00:10] cam 10"]
    display.finish(["cam final"], stamp="00:00:11")
    assert out.getvalue().splitlines()[-1] == "[00:00:11] cam final"
    assert "\x1b" not in out.getvalue()


def test_off_a_terminal_the_retention_line_is_printed_only_when_it_changes() -> None:
    out = io.StringIO()
    display = LiveDisplay(out, tty=False, every_s=5.0)
    policy = ["retention week (gate): next run 2026-11-23 03:15 UTC"]
    for tick in range(120):  # a minute at the session's 0.5 s tick
        second = tick / 2
        ran = ["retention week (gate): next run 2026-11-24 03:15 UTC; last run: deleted 3 object(s)"]
        display.show(["cam"], now_s=second, stamp=f"{second:04.1f}", when_changed=policy if tick < 100 else ran)
    printed = out.getvalue().splitlines()
    assert [line for line in printed if "retention" in line] == [
        "[00.0] retention week (gate): next run 2026-11-23 03:15 UTC",
        "[50.0] retention week (gate): next run 2026-11-24 03:15 UTC; last run: deleted 3 object(s)",
    ]
    assert sum(1 for line in printed if line.endswith("cam")) == 12  # the cameras still every 5 s


def test_on_a_terminal_the_retention_line_ends_the_block() -> None:
    out = io.StringIO()
    display = LiveDisplay(out, tty=True)
    display.show(["cam"], now_s=0.0, stamp="t", when_changed=["retention week"])
    display.show(["cam"], now_s=0.5, stamp="t", when_changed=["retention week"])
    assert out.getvalue().endswith("\x1b[2F\x1b[2Kcam\n\x1b[2Kretention week\n")


def test_policy_lines() -> None:
    when = datetime(2026, 11, 23, 3, 15, tzinfo=UTC)
    views = [
        PolicyView(name="week", cameras=("gate", "door"), next_run_at=when, last_result="deleted 3 object(s), 1.0 KiB"),
        PolicyView(name="off", cameras=(), next_run_at=None),
    ]
    assert policy_lines(views) == [
        "retention week (gate, door): next run 2026-11-23 03:15 UTC; last run: deleted 3 object(s), 1.0 KiB",
        "retention off (no cameras): suspended",
    ]

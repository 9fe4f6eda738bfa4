"""Fault: something nobody planned for breaks a camera's capture loop (here a clip whose
timestamps jump by 10^16 frames: pacing it overflows the platform's time type), in a real
``camops local`` session.

The loop must not die: the exception becomes a counted failure with its error in the status,
the camera is retried with backoff and keeps being captured; the live line and the summary
show it; the traceback is logged once, not once per retry.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import av
import numpy as np
import pytest

from camops_operator.local.manifests import parse_manifests
from camops_operator.local.plan import LocalTarget, plan_cameras
from camops_operator.local.session import run_session

pytestmark = pytest.mark.slow

SECONDS = 8.0


def jumping_clip(path: Path) -> Path:
    """One second of good video, then timestamps 10^16 frames later (a garbage source)."""
    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.codec_context.options = {"preset": "ultrafast", "bf": "0", "g": "5"}
        for k in range(50):
            frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), 40 + 3 * k, np.uint8), format="rgb24")
            frame.pts = k if k < 25 else k + 10**16
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def test_an_unexpected_exception_is_counted_backoff_shown_live_and_in_the_summary(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="camops")
    clip = jumping_clip(tmp_path / "jump.mkv")
    doc = {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "Camera",
        "metadata": {"name": "garbage"},
        "spec": {"source": {"url": f"file://{clip}"}, "snapshots": {"interval": "200ms"}},
    }
    target = LocalTarget(data_dir=tmp_path / "data")
    planned = plan_cameras(parse_manifests([("cam.yaml", doc)]), target, {})
    out = io.StringIO()
    result = run_session(planned, [], target, seconds=SECONDS, out=out, tick_s=0.1, print_every_s=0.2)
    text = out.getvalue()
    live = [line for line in text.splitlines() if line.startswith("[") and "garbage" in line]
    failing = [line for line in live if "retrying" in line and "error: unexpected OverflowError" in line]
    summary = next(line for line in text.splitlines() if line.startswith("garbage ")).split()  # its summary row
    runner = result.runner
    view = runner.views()[0]
    print(
        f"\ncrashing loop: {view.source_errors} errors, {view.reconnects} reconnects, {view.snapshots} snapshots "
        f"in {SECONDS:g}s; {len(failing)} of {len(live)} live lines show the error\nsummary: {' '.join(summary)}"
    )
    assert result.code == 0, text  # the worker ran to the end: no dead thread, no failed camera
    assert view.source_errors >= 2
    assert view.reconnects >= 2  # it came back after each failure ...
    assert view.snapshots >= 2 * view.reconnects  # ... and captured again each time
    assert failing, "\n".join(live)
    assert summary[0] == "garbage"
    assert int(summary[9]) == view.source_errors
    assert "unexpected OverflowError" in " ".join(summary[10:])
    traces = [r for r in caplog.records if "capture loop failed" in r.getMessage()]
    assert len(traces) == 1  # the traceback once, not once per retry
    assert "Traceback" in traces[0].getMessage()

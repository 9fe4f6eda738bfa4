"""Fragmented MP4 segments, closed or recovered after a kill, play in a real browser's <video> (Debian's chromium)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import pytest

from camops_workers.capture.segments import ClosedSegment, SegmentWriter
from tests.integration.console.browser import CHROMIUM, require_chromium
from tests.support.video import make_clip

PAGE = """<html><body><video id="v" src="{src}" muted autoplay></video><pre id="out">pending</pre><script>
const v = document.getElementById('v'), out = document.getElementById('out');
v.addEventListener('error', () => {{ out.textContent = 'error ' + (v.error && v.error.code); }});
v.addEventListener('timeupdate', () => {{
  if (v.currentTime >= {until}) out.textContent = 'played ' + v.currentTime.toFixed(2) + ' of ' + v.duration
    + ' at ' + v.videoWidth + 'x' + v.videoHeight;
}});
</script></body></html>"""


def record(clip: Path, work: Path, *, crash_at_s: float | None) -> ClosedSegment:
    """Remux ``clip`` into one segment; with ``crash_at_s``, keep the .part as a kill at that moment leaves it."""
    writer = SegmentWriter(work, "cam", 60.0)
    crashed = work / "crashed"
    crashed.mkdir(parents=True)
    with av.open(str(clip)) as container:
        stream: Any = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            stream_s = float(packet.pts * stream.time_base)
            writer.write(packet, stream, stream_s=stream_s, wall=datetime.now(UTC))
            if crash_at_s is not None and stream_s >= crash_at_s and not list(crashed.iterdir()):
                (part,) = work.glob("*.mp4.part")
                shutil.copy(part, crashed / part.name)
    if crash_at_s is None:
        closed = writer.close()
        assert closed is not None
        return closed
    writer.close(discard=True)
    (recovered,) = SegmentWriter(crashed, "cam", 60.0).recover_leftovers()
    return recovered


def browser_plays(segment: Path, until_s: float) -> str:
    page = segment.with_suffix(".html")
    page.write_text(PAGE.format(src=segment.name, until=until_s))
    require_chromium()
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--autoplay-policy=no-user-gesture-required",
            "--allow-file-access-from-files",
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    match = re.search(r'<pre id="out">([^<]*)', done.stdout)
    return match.group(1) if match else f"no page: {done.stderr[-500:]}"


@pytest.mark.slow
@pytest.mark.parametrize(("crash_at_s", "expected_s"), [(None, 4.0), (3.6, 3.0)])
def test_segments_play_in_a_browser(tmp_path: Path, crash_at_s: float | None, expected_s: float) -> None:
    clip = make_clip(tmp_path / "clip.mp4", [(320, 240, 4.0 if crash_at_s is None else 5.0)], gop=25)
    segment = record(clip, tmp_path / "work", crash_at_s=crash_at_s)
    assert segment.duration_s == pytest.approx(expected_s, abs=0.05)
    result = browser_plays(segment.path, until_s=expected_s - 0.5)
    assert result.startswith("played "), result
    assert result.endswith(f"of {expected_s:g} at 320x240"), result

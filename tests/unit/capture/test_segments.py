"""Segments remuxed from packets: keyframe-aligned, the right length, a new file when parameters change."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import pytest

from camops_workers.capture.segments import SegmentWriter, iter_nal_units, parameter_sets, should_cut
from tests.support.video import make_clip

SPS = b"\x67\x42\xc0\x0d\xda"
PPS = b"\x68\xce\x0f\xc8"
IDR = b"\x65\x88\x84\x00"


def test_nal_units_from_annex_b_and_length_prefixed() -> None:
    annexb = b"\x00\x00\x00\x01" + SPS + b"\x00\x00\x01" + PPS + b"\x00\x00\x00\x01" + IDR
    assert list(iter_nal_units(annexb)) == [SPS, PPS, IDR]
    avcc = b"".join(len(n).to_bytes(4, "big") + n for n in (SPS, PPS, IDR))
    assert list(iter_nal_units(avcc)) == [SPS, PPS, IDR]


def test_parameter_sets_are_what_identifies_a_stream_configuration() -> None:
    key = b"\x00\x00\x00\x01" + SPS + b"\x00\x00\x00\x01" + PPS + b"\x00\x00\x00\x01" + IDR
    assert parameter_sets(key, "h264") == b"\x00\x00\x00\x01" + SPS + b"\x00\x00\x00\x01" + PPS
    assert parameter_sets(b"\x00\x00\x00\x01" + IDR, "h264") is None


@pytest.mark.parametrize(
    ("elapsed", "key", "changed", "cut"),
    [(1.0, True, False, False), (2.0, True, False, True), (5.0, False, False, False), (0.2, True, True, True)],
)
def test_should_cut(elapsed: float, key: bool, changed: bool, cut: bool) -> None:
    assert should_cut(elapsed, 2.0, key, changed) is cut


def _remux(clip: Path, work: Path, target_s: float) -> list:  # type: ignore[type-arg]
    writer = SegmentWriter(work, "cam", target_s)
    closed = []
    now = datetime.now(UTC)
    with av.open(str(clip)) as container:
        stream: Any = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            seg = writer.write(packet, stream, stream_s=float(packet.pts * stream.time_base), wall=now)
            if seg:
                closed.append(seg)
    last = writer.close()
    if last:
        closed.append(last)
    return closed


def _probe(path: Path) -> tuple[float, int, set[tuple[int, int]]]:
    with av.open(str(path)) as container:
        stream: Any = container.streams.video[0]
        sizes = {(f.width, f.height) for f in container.decode(stream)}
        frames = stream.frames
        duration = float(stream.duration * stream.time_base)
    return duration, frames, sizes


def test_segments_cut_at_keyframes_with_the_requested_duration(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", [(160, 120, 5.0)], gop=25)
    segments = _remux(clip, tmp_path / "work", 2.0)
    assert [round(s.duration_s, 2) for s in segments] == [2.0, 2.0, 1.0]
    for seg in segments:
        duration, frames, sizes = _probe(seg.path)
        assert duration == pytest.approx(seg.duration_s, abs=0.05)
        assert frames == round(seg.duration_s * 25)
        assert sizes == {(160, 120)}
    assert not list((tmp_path / "work").glob("*.part"))


def test_size_change_mid_stream_starts_a_new_segment(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.ts", [(160, 120, 1.5), (240, 176, 1.0)], gop=25, container="mpegts")
    segments = _remux(clip, tmp_path / "work", 10.0)
    assert [(s.width, s.height) for s in segments] == [(160, 120), (240, 176)]
    for seg in segments:
        _, _, sizes = _probe(seg.path)
        assert sizes == {(seg.width, seg.height)}
        with av.open(str(seg.path)) as container:
            ctx = container.streams.video[0].codec_context
            assert (ctx.width, ctx.height) == (seg.width, seg.height)


def test_discard_and_leftovers(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", [(160, 120, 1.0)], gop=25)
    writer = SegmentWriter(tmp_path / "work", "cam", 10.0)
    with av.open(str(clip)) as container:
        stream: Any = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.pts is not None:
                writer.write(packet, stream, stream_s=float(packet.pts * stream.time_base), wall=datetime.now(UTC))
    assert writer.is_open
    assert writer.close(discard=True) is None
    assert list((tmp_path / "work").iterdir()) == []
    (tmp_path / "work" / "cam-1-1.mp4.part").write_bytes(b"partial")
    assert writer.discard_leftovers() == 1

"""Segments remuxed from packets: keyframe-aligned, the right length, a new file when parameters change."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import pytest

from camops_workers.capture.segments import (
    SegmentWriter,
    iter_nal_units,
    last_whole_fragment_end,
    parameter_sets,
    should_cut,
)
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
        decoded = list(container.decode(stream))
        sizes = {(f.width, f.height) for f in decoded}
        frames = len(decoded)  # fragmented MP4: the header carries no frame count
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
    (tmp_path / "work" / "cam-1-1.mp4.part").write_bytes(b"partial")  # an older camops's name
    (tmp_path / "work" / "cam-1764633600000-7-1.mp4.part").write_bytes(b"\x00\x00\x00\x10ftypisom")  # no fragment
    (tmp_path / "work" / "cam-b-1764633600000-7-1.mp4.part").write_bytes(b"another camera's")
    assert writer.recover_leftovers() == []
    assert [p.name for p in (tmp_path / "work").iterdir()] == ["cam-b-1764633600000-7-1.mp4.part"]


def _boxes(*boxes: tuple[bytes, int]) -> bytes:
    return b"".join((8 + n).to_bytes(4, "big") + kind + b"\0" * n for kind, n in boxes)


def test_last_whole_fragment_end() -> None:
    head = _boxes((b"ftyp", 16), (b"moov", 100))
    frag = _boxes((b"moof", 40), (b"mdat", 500))
    assert last_whole_fragment_end(head) == 0
    assert last_whole_fragment_end(head + frag) == len(head + frag)
    assert last_whole_fragment_end(head + frag + frag[:-10]) == len(head + frag)  # cut inside the mdat
    assert last_whole_fragment_end(head + frag + frag[:30]) == len(head + frag)  # cut inside the moof
    assert last_whole_fragment_end(head + frag + frag + b"\0\0") == len(head + frag + frag)
    assert last_whole_fragment_end(frag) == 0  # no header: nothing playable


def test_a_killed_writer_leaves_a_part_recovered_up_to_its_last_whole_fragment(tmp_path: Path) -> None:
    """Copy the .part mid-recording (what a kill -9 leaves on disk), then recover it at the next start."""
    clip = make_clip(tmp_path / "clip.mp4", [(160, 120, 5.0)], gop=50)  # keyframes every 2 s: fragments cut at 1 s
    work = tmp_path / "work"
    writer = SegmentWriter(work, "cam", 60.0)
    start = datetime(2026, 12, 2, 10, 0, 0, tzinfo=UTC)
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    with av.open(str(clip)) as container:
        stream: Any = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            stream_s = float(packet.pts * stream.time_base)
            writer.write(packet, stream, stream_s=stream_s, wall=start)
            if stream_s >= 3.5 and not list(crashed.iterdir()):
                (part,) = work.glob("*.mp4.part")
                (crashed / part.name).write_bytes(part.read_bytes())  # the file as a crash would leave it
    writer.close(discard=True)
    (leftover,) = crashed.iterdir()
    assert leftover.name.startswith(f"cam-{int(start.timestamp() * 1000)}-")
    segments = SegmentWriter(crashed, "cam", 60.0).recover_leftovers()
    assert len(segments) == 1
    seg = segments[0]
    assert seg.started_at == start
    assert seg.path.suffix == ".mp4"
    assert not list(crashed.glob("*.part"))
    assert 2.5 <= seg.duration_s <= 3.6  # lost at most one fragment (1 s) plus a frame
    with av.open(str(seg.path)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == round(seg.duration_s * 25)
    assert {(f.width, f.height) for f in frames} == {(160, 120)}


def test_recovery_never_takes_a_segment_a_live_writer_is_recording(tmp_path: Path) -> None:
    """A camera restarted inside one process: the new writer's recovery leaves the old writer's file alone."""
    clip = make_clip(tmp_path / "clip.mp4", [(160, 120, 3.0)], gop=25)
    work = tmp_path / "work"
    live = SegmentWriter(work, "cam", 60.0)
    with av.open(str(clip)) as container:
        stream: Any = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.pts is not None]
        for packet in packets[:50]:
            live.write(packet, stream, stream_s=float(packet.pts * stream.time_base), wall=datetime.now(UTC))
        assert SegmentWriter(work, "cam", 60.0).recover_leftovers() == []
        for packet in packets[50:]:
            live.write(packet, stream, stream_s=float(packet.pts * stream.time_base), wall=datetime.now(UTC))
    closed = live.close()
    assert closed is not None
    assert _probe(closed.path)[1] == 75  # the live segment was neither cut nor moved

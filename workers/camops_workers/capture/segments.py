"""MP4 segments remuxed from the camera's packets (never decoded, never re-encoded).

A segment starts on a keyframe and is cut at the first keyframe once ``segment_duration``
has passed, so every file plays from its first byte. A change of the stream's parameter sets
(SPS/PPS, i.e. resolution or codec settings changed mid-stream) closes the segment at that
keyframe and starts a new one carrying the new parameters, instead of writing a file whose
header describes pictures it no longer holds. A packet the muxer refuses (timestamps going
backwards or repeated) closes the segment with what it holds and the next keyframe starts a
new one (``mux_errors``); the session goes on.

Segments are written to a work folder on the queue's filesystem and handed over closed
(``ClosedSegment``); the caller enqueues them.

Crash safety: segments are fragmented MP4 (``empty_moov``: the header first, then one
``moof``+``mdat`` fragment at each keyframe and at least every ``FRAGMENT_S`` seconds), and
each fragment is fsynced as soon as the muxer writes it. A killed worker leaves
``<camera>-<start ms>-<pid>-<n>.mp4.part`` holding every whole fragment; at the next start
``recover_leftovers`` cuts it after its last whole fragment (a valid, playable MP4) and hands
it over like a closed segment. So a crash loses at most the fragment being written
(~``FRAGMENT_S`` plus one frame), not the whole open segment.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from camops_workers.fsutil import fsync_dir

__all__ = [
    "FRAGMENT_S",
    "MUXER_OPTIONS",
    "ClosedSegment",
    "SegmentWriter",
    "iter_nal_units",
    "last_whole_fragment_end",
    "parameter_sets",
    "should_cut",
]

log = logging.getLogger("camops.capture")

#: the longest fragment: what a crash can lose at most (plus the frame being written)
FRAGMENT_S = 1.0
#: Bytes a fragment may grow between two free-space checks (far below the queue's reserve, >= 1 MiB).
ROOM_STEP = 64 * 1024
MUXER_OPTIONS = {
    # fragmented MP4 as browsers' Media Source and <video> play it: header first, then moof+mdat pairs
    "movflags": "frag_keyframe+empty_moov+default_base_moof",
    "frag_duration": str(int(FRAGMENT_S * 1_000_000)),
    # hand each fragment to the file as soon as the muxer completes it (no 32 KiB buffering)
    "flush_packets": "1",
}

_H264_PARAMS = {7, 8}  # SPS, PPS
_HEVC_PARAMS = {32, 33, 34}  # VPS, SPS, PPS


def iter_nal_units(data: bytes) -> Iterator[bytes]:
    """The NAL units of an Annex B (start codes) or length-prefixed (4-byte, MP4 style) access unit."""
    if data.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01")):
        pos = 0
        starts: list[tuple[int, int]] = []
        while True:
            idx = data.find(b"\x00\x00\x01", pos)
            if idx < 0:
                break
            starts.append((idx, idx + 3))
            pos = idx + 3
        for i, (_, begin) in enumerate(starts):
            end = starts[i + 1][0] if i + 1 < len(starts) else len(data)
            yield data[begin:end].rstrip(b"\x00") if i + 1 < len(starts) else data[begin:end]
        return
    pos = 0
    while pos + 4 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        if size <= 0 or pos + 4 + size > len(data):
            return
        yield data[pos + 4 : pos + 4 + size]
        pos += 4 + size


def parameter_sets(data: bytes, codec: str) -> bytes | None:
    """The parameter-set NAL units (Annex B, start codes included) in a keyframe, or None.

    Two keyframes with different results mean the encoder's parameters changed.
    """
    found: list[bytes] = []
    for nal in iter_nal_units(data):
        if not nal:
            continue
        if codec == "hevc":
            kind = (nal[0] >> 1) & 0x3F
            wanted = kind in _HEVC_PARAMS
        else:
            kind = nal[0] & 0x1F
            wanted = kind in _H264_PARAMS
        if wanted:
            found.append(b"\x00\x00\x00\x01" + nal)
    return b"".join(found) if found else None


def should_cut(elapsed_s: float, target_s: float, is_keyframe: bool, params_changed: bool) -> bool:
    """Whether a keyframe ends the open segment: its parameters changed, or it is long enough."""
    if not is_keyframe:
        return False
    return params_changed or elapsed_s >= target_s - 0.001


def last_whole_fragment_end(data: bytes) -> int:
    """Where a fragmented MP4 cut by a crash must end: after its last ``moof``+``mdat`` pair (0: none whole).

    Walks the top-level boxes; a box that runs past the end of ``data`` (the fragment being written
    when the process died) and everything after it are cut off.
    """
    return _fragment_end(lambda pos, n: data[pos : pos + n], len(data))


def _fragment_end(read_at: Callable[[int, int], bytes], length: int) -> int:
    """``last_whole_fragment_end`` reading only the box headers (``read_at(offset, n)``), not the media."""
    pos = 0
    end = 0
    moov = moof = False
    while pos + 8 <= length:
        head = read_at(pos, 16)
        size = int.from_bytes(head[0:4], "big")
        kind = head[4:8]
        header = 8
        if size == 1:
            if pos + 16 > length:
                break
            size = int.from_bytes(head[8:16], "big")
            header = 16
        if size < header or pos + size > length:
            break  # size 0 ("to the end of the file") is never written by the fragmenting muxer
        if kind == b"moov":
            moov = True
        elif kind == b"moof":
            moof = True
        elif kind == b"mdat" and moov and moof:
            end = pos + size
            moof = False
        pos += size
    return end


@dataclass(frozen=True, slots=True)
class ClosedSegment:
    path: Path
    started_at: datetime
    duration_s: float
    size: int
    width: int
    height: int
    codec: str
    #: the stream time of its first frame (None: recovered after a crash, the stream's clock is gone);
    #: ``started_at`` is when that frame's packet arrived, an upper bound the caller may refine
    start_s: float | None = None


@dataclass(slots=True)
class _Open:
    container: Any
    stream: Any
    path: Path
    started_at: datetime
    start_s: float
    base_ts: int
    last_s: float
    params: bytes | None
    width: int
    height: int
    codec: str
    #: a descriptor on the file, for fsyncing each fragment as the muxer writes it
    sync_fd: int
    synced: int = 0
    #: bytes muxed since the last fragment reached the file (the fragment being built, held by the muxer)
    pending: int = 0
    #: ``pending`` when the queue last made room for it (0: not yet for this fragment)
    room_checked: int = 0
    #: packets the muxer took
    muxed: int = 0


_PART = re.compile(r"^(?P<camera>.+)-(?P<start>\d{13})-(?P<pid>\d+)-(?P<seq>\d+)\.mp4\.part$")


def _family(in_stream: Any) -> str:
    name = str(in_stream.codec.name)
    return "hevc" if name in {"hevc", "h265"} else name


class SegmentWriter:
    """Remuxes one video stream's packets into keyframe-aligned MP4 files under ``directory``."""

    def __init__(
        self,
        directory: str | Path,
        camera: str,
        segment_duration_s: float,
        *,
        make_room: Callable[[int], object] | None = None,
    ) -> None:
        #: called with the bytes of the fragment being built before each packet: the queue keeps room for
        #: them above its free-space reserve (dropping its oldest items under dropOldest)
        self._make_room = make_room
        self._dir = Path(directory)
        self._dir.mkdir(parents=True, exist_ok=True)
        self._camera = camera
        self._target = segment_duration_s
        self._open: _Open | None = None
        self._params: bytes | None = None
        self._size: tuple[int, int] | None = None
        self._seq = 0
        self.packets_skipped = 0
        #: packets the muxer refused (timestamps going backwards or repeated) and its last error: each
        #: closed the open segment with what it held, and the next keyframe started a new one
        self.mux_errors = 0
        self.last_mux_error: str | None = None

    @property
    def camera(self) -> str:
        return self._camera

    @property
    def is_open(self) -> bool:
        return self._open is not None

    def recover_leftovers(self) -> list[ClosedSegment]:
        """Segments a killed worker left open, cut after their last whole fragment, oldest first.

        A leftover with no whole fragment (or not ours to read) is removed. The caller enqueues
        the returned segments like closed ones.
        """
        recovered: list[ClosedSegment] = []
        for path in sorted(self._dir.glob(f"{self._camera}-*.mp4.part")):
            match = _PART.match(path.name)
            if match is None or match["camera"] != self._camera:
                if match is None:  # an older camops's leftover: nothing to recover it with
                    with contextlib.suppress(OSError):
                        path.unlink()
                continue
            try:
                lock = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live writer holds it (the camera restarted in this process): not a leftover
                segment = _recover(path, datetime.fromtimestamp(int(match["start"]) / 1000, UTC))
                if segment is None:
                    with contextlib.suppress(OSError):
                        path.unlink()
                    continue
                recovered.append(segment)
            finally:
                os.close(lock)
        return sorted(recovered, key=lambda seg: seg.started_at)

    def write(self, packet: Any, in_stream: Any, *, stream_s: float, wall: datetime) -> ClosedSegment | None:
        """Add one demuxed packet (consumed: muxing takes its data). Returns a segment it closed, if any."""
        if packet.pts is None or packet.dts is None:
            self.packets_skipped += 1
            return None
        is_key = bool(packet.is_keyframe)
        codec = _family(in_stream)
        closed: ClosedSegment | None = None
        params: bytes | None = None
        changed = False
        if is_key:
            data = bytes(packet)
            params = parameter_sets(data, codec)
            changed = params is not None and self._params is not None and params != self._params
            if changed:
                self._size = _probe_size(data, codec) or self._size
            if params is not None:
                self._params = params
        current = self._open
        if current is not None and should_cut(stream_s - current.start_s, self._target, is_key, changed):
            closed = self._finish(current, end_s=stream_s)
            current = None
        if current is None:
            if not is_key:
                self.packets_skipped += 1
                return closed
            if self._size is None:
                self._size = (in_stream.codec_context.width, in_stream.codec_context.height)
                if 0 in self._size:  # nothing analysed at open: learn it from this keyframe
                    self._size = _probe_size(bytes(packet), codec) or self._size
            current = self._start(in_stream, packet, stream_s=stream_s, wall=wall, params=params, size=self._size)
        packet.pts -= current.base_ts
        packet.dts -= current.base_ts
        if packet.dts < 0 or packet.pts < 0:
            self.packets_skipped += 1
            return closed
        packet.stream = current.stream
        self._keep_room(current, packet.size)
        refused = self._mux(current, packet)
        if refused is not None:
            return self._mux_failed(current, refused, closed)
        current.last_s = max(current.last_s, stream_s)
        self._sync_fragments(current)
        return closed

    def _mux(self, current: _Open, packet: Any) -> Exception | None:
        """Mux one packet; the muxer's refusal (bad timestamps) is returned, a write error raised."""
        try:
            current.container.mux(packet)
        except (av_errors(), ValueError) as exc:
            if isinstance(exc, OSError):
                raise  # a write error (full volume, I/O): the caller's to handle, not the stream's fault
            return exc
        current.muxed += 1
        return None

    def _mux_failed(self, current: _Open, exc: Exception, closed: ClosedSegment | None) -> ClosedSegment | None:
        """The muxer refused a packet: close the open segment with what it holds (its fragments are
        on disk), say why, and leave the next keyframe to start a new one. The session goes on."""
        self.packets_skipped += 1
        kept: ClosedSegment | None = None
        if current.muxed == 0:  # it had just started with this packet (so ``closed`` may hold the one before)
            self._discard(current)
        else:
            try:
                kept = self._finish(current, end_s=current.last_s + 1.0 / 25.0)
            except Exception as error:  # noqa: BLE001 - nothing whole in it: dropped, like a too short one
                log.warning("segment dropped after a muxer error file=%s error=%s", current.path.name, error)
        self.mux_errors += 1
        self.last_mux_error = getattr(exc, "strerror", None) or str(exc)  # not its file name: the work folder's
        return closed or kept

    def _keep_room(self, current: _Open, size: int) -> None:
        """Have the queue keep its reserve free for the fragment being built (``size`` more bytes).

        A statvfs each time, so once per fragment and per ``ROOM_STEP`` bytes, not per packet.
        """
        if self._make_room is None:
            return
        current.pending += size
        if not current.room_checked or current.pending - current.room_checked >= ROOM_STEP:
            self._make_room(current.pending)
            current.room_checked = current.pending

    def _sync_fragments(self, current: _Open) -> None:
        """Make a fragment durable as soon as the muxer wrote it (the file grew)."""
        size = os.fstat(current.sync_fd).st_size
        if size > current.synced:
            os.fdatasync(current.sync_fd)
            current.synced = size
            current.pending = 0
            current.room_checked = 0

    def close(self, *, discard: bool = False, min_duration_s: float = 0.5) -> ClosedSegment | None:
        """Close the open segment (on shutdown or disconnect); discard it if asked or too short."""
        current = self._open
        if current is None:
            return None
        self._params = None
        self._size = None
        frame_s = 1.0 / 25.0
        duration = current.last_s - current.start_s + frame_s
        if discard or duration < min_duration_s:
            self._discard(current)
            return None
        return self._finish(current, end_s=current.last_s + frame_s)

    def _discard(self, current: _Open) -> None:
        self._open = None
        with contextlib.suppress(Exception):
            current.container.close()
        os.close(current.sync_fd)
        with contextlib.suppress(OSError):
            current.path.unlink()

    def _start(
        self,
        in_stream: Any,
        packet: Any,
        *,
        stream_s: float,
        wall: datetime,
        params: bytes | None,
        size: tuple[int, int],
    ) -> _Open:
        import av

        self._seq += 1
        start_ms = int(wall.timestamp() * 1000)
        path = self._dir / f"{self._camera}-{start_ms:013d}-{os.getpid()}-{self._seq}.mp4.part"
        # created here (the muxer opens it lazily and truncates, keeping the inode) so its fd can fsync fragments
        sync_fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o640)
        try:
            fcntl.flock(sync_fd, fcntl.LOCK_EX)  # held while writing: recovery never takes a live segment
            container = av.open(str(path), "w", format="mp4", container_options=dict(MUXER_OPTIONS))
        except BaseException:
            os.close(sync_fd)
            raise
        fsync_dir(self._dir)  # the .part's name survives a crash, so it can be recovered
        stream = container.add_stream_from_template(in_stream)
        if _family(in_stream) == "hevc":
            # hvc1 (parameter sets in the sample entry), not hev1: what Safari, QuickTime and iOS play.
            stream.codec_context.codec_tag = "hvc1"
        if params is not None:
            stream.codec_context.extradata = params
        stream.codec_context.width, stream.codec_context.height = size
        stream.time_base = in_stream.time_base or Fraction(1, 90000)
        base = packet.dts if packet.dts is not None else packet.pts
        self._open = _Open(
            container=container,
            stream=stream,
            path=path,
            started_at=wall,
            start_s=stream_s,
            base_ts=int(base),
            last_s=stream_s,
            params=params,
            width=size[0],
            height=size[1],
            codec=_family(in_stream),
            sync_fd=sync_fd,
        )
        return self._open

    def _finish(self, current: _Open, *, end_s: float) -> ClosedSegment:
        self._open = None
        error: Exception | None = None
        try:
            current.container.close()
        except Exception as exc:  # noqa: BLE001 - handled below: the whole fragments are kept
            error = exc
        try:
            # a write error (full volume, I/O error) can leave a box cut short even when closing "worked"
            whole = error is None and _all_boxes_whole(current.sync_fd)
            if whole:
                os.fsync(current.sync_fd)
        finally:
            os.close(current.sync_fd)
        if not whole:
            recovered = _recover(current.path, current.started_at)
            if recovered is None:
                with contextlib.suppress(OSError):
                    current.path.unlink()
                raise error or OSError(errno.EIO, f"segment {current.path.name} has no whole fragment")
            log.warning(
                "segment closed after a write error: kept its whole fragments file=%s seconds=%.1f",
                recovered.path.name,
                recovered.duration_s,
            )
            return replace(recovered, start_s=current.start_s)
        final = current.path.with_suffix("")  # drop ".part"
        os.replace(current.path, final)
        return ClosedSegment(
            path=final,
            started_at=current.started_at,
            duration_s=max(0.0, end_s - current.start_s),
            size=final.stat().st_size,
            width=current.width,
            height=current.height,
            codec=current.codec,
            start_s=current.start_s,
        )


def _all_boxes_whole(fd: int) -> bool:
    """Whether the file's top-level boxes end exactly at its end (nothing cut short by a failed write)."""
    length = os.fstat(fd).st_size
    pos = 0
    while pos + 8 <= length:
        head = os.pread(fd, 16, pos)
        size = int.from_bytes(head[0:4], "big")
        if size == 1 and len(head) == 16:
            size = int.from_bytes(head[8:16], "big")
        if size < 8:
            return False
        pos += size
    return pos == length


def _recover(path: Path, started_at: datetime) -> ClosedSegment | None:
    """Cut ``path`` after its last whole fragment and rename it to ``.mp4``; None when nothing is whole."""
    import av

    with open(path, "r+b") as handle:
        fd = handle.fileno()
        end = _fragment_end(lambda pos, n: os.pread(fd, n, pos), os.fstat(fd).st_size)
        if end == 0:
            return None
        handle.truncate(end)
        os.fsync(fd)
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            tb = float(stream.time_base or Fraction(1, 90000))
            first = last = None
            last_duration = 0
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                first = packet.pts if first is None else min(first, packet.pts)
                last = packet.pts if last is None else max(last, packet.pts)
                last_duration = packet.duration or last_duration
            width, height = stream.codec_context.width, stream.codec_context.height
            codec = _family(stream)
    except (av.FFmpegError, IndexError, ValueError) as exc:
        log.warning("segment recovery failed file=%s error=%s", path.name, exc)
        return None
    if first is None or last is None:
        return None
    final = path.with_suffix("")
    os.replace(path, final)
    fsync_dir(path.parent)
    return ClosedSegment(
        path=final,
        started_at=started_at,
        duration_s=(last - first + last_duration) * tb,
        size=final.stat().st_size,
        width=width,
        height=height,
        codec=codec,
    )


def av_errors() -> type[Exception]:
    """PyAV's error base class (imported late: PyAV loads only where media is handled)."""
    import av

    return av.FFmpegError


def _probe_size(data: bytes, codec: str) -> tuple[int, int] | None:
    """Decode one keyframe with a throwaway decoder to learn the new picture size (rare: on change)."""
    import av

    try:
        decoder: Any = av.CodecContext.create(codec, "r")
        decoder.thread_count = 1
        frames = list(decoder.decode(av.Packet(data))) + list(decoder.decode(None))
    except (av.FFmpegError, ValueError):
        return None
    return (frames[0].width, frames[0].height) if frames else None

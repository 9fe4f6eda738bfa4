"""The durable offline queue: SQLite (WAL) index + one payload file per item on the queue volume.

Layout of a queue folder::

    queue.db (+ -wal, -shm)   the index: one row per item, counters, totals
    payloads/<id>             the bytes of item <id>
    payloads/.tmp-<id>        a payload being written (never visible to uploaders)

Durability: ``put`` writes the payload to a temporary file under an exclusive
``flock``, fsyncs it, renames it into place, and hands its row to the group commit:
the folder is fsynced and the rows inserted in one ``synchronous=FULL`` transaction for
all the puts that arrived together (from any camera and thread), and ``put`` returns
after that commit. Whoever finds no commit running leads the next one: it waits at most
``commit_window_s`` for puts already writing their payloads, then commits every row
waiting (so one producer pays no wait, and N concurrent producers share one folder fsync
and one WAL fsync). The lock is held until the row is committed, so the orphan sweep
(files without a row, left by a crash between the rename and the insert, or between
deleting a row and its file) can never take a payload that is still being enqueued.

Free space: before a payload is written, ``put`` checks the volume (statvfs) and keeps a
reserve free for the index (``reserve_for``: 1/16 of the volume, 1 to 64 MiB, unless
``min_free_bytes`` is set). Under ``dropOldest`` it drops the oldest unleased items until
the new one fits above the reserve, so a full volume never refuses new captures while it
holds older ones; under ``rejectNew`` (or when nothing can be dropped) the new capture is
refused. Both are counted in ``dropped`` (``dropOldest``, ``rejectNew``, ``volumeFull``).

Several processes may open one queue (a worker's pool and ``camops drain``): items
are handed out with leases (holder, token, expiry) taken in ``BEGIN IMMEDIATE``
transactions; a lease left by a crashed process expires and the item is claimed
again. Acks and releases check the token, so a holder whose lease was taken over
never deletes or re-arms someone else's claim.

Nothing leaves the queue uncounted: uploaded, dropped (``dropOldest``, ``rejectNew``,
``volumeFull``, payload missing) and expired items are counted in the database and in metrics.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections import Counter as CountOf
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from camops_workers.contract import QueueConfig
from camops_workers.fsutil import fsync_dir
from camops_workers.items import Capture
from camops_workers.queue import metrics
from camops_workers.ratelimit import RateLimited
from camops_workers.redact import redact

__all__ = [
    "EMPTY_STATS",
    "SCHEMA_VERSION",
    "DurableQueue",
    "QueueFull",
    "QueueItem",
    "QueueLimits",
    "QueueStats",
    "overflow_victims",
    "reserve_for",
    "room_victims",
    "would_overflow",
]

log = logging.getLogger("camops.queue")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    camera TEXT NOT NULL,
    kind TEXT NOT NULL,
    captured_at REAL NOT NULL,
    enqueued_at REAL NOT NULL,
    key TEXT NOT NULL,
    also_keys TEXT NOT NULL DEFAULT '[]',
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    content_type TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    lease_holder TEXT,
    lease_token TEXT,
    lease_expires_at REAL NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS items_state ON items(state);
CREATE INDEX IF NOT EXISTS items_captured ON items(captured_at);
CREATE TABLE IF NOT EXISTS totals (
    id INTEGER PRIMARY KEY CHECK (id = 1), items INTEGER NOT NULL, bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO totals VALUES (1, 0, 0);
CREATE TRIGGER IF NOT EXISTS items_insert AFTER INSERT ON items BEGIN
    UPDATE totals SET items = items + 1, bytes = bytes + NEW.size WHERE id = 1;
END;
CREATE TRIGGER IF NOT EXISTS items_delete AFTER DELETE ON items BEGIN
    UPDATE totals SET items = items - 1, bytes = bytes - OLD.size WHERE id = 1;
END;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS latest (key TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS camera_counters (
    camera TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (camera, name)
);
"""

#: Bumped (with a migration) whenever the index's tables change.
#: 2: per-camera counters (``camera_counters``, created on open).
SCHEMA_VERSION = 2
_DB_NAME = "queue.db"
_PAYLOADS = "payloads"
_TMP = ".tmp-"
_CHUNK = 1024 * 1024
_WAL_CHECKPOINT_PAGES = 128
_WAL_SIZE_LIMIT = 512 * 1024
_MiB = 1024 * 1024
#: the free-space reserve scales with the volume: 1/16 of it, at least 1 MiB (twice the WAL's bound), at most 64 MiB
_RESERVE_MIN = 1 * _MiB
_RESERVE_MAX = 64 * _MiB
_RESERVE_SHARE = 16
#: the most rows one group commit inserts
_MAX_BATCH = 256
_INSERT_SQL = (
    "INSERT INTO items(id, camera, kind, captured_at, enqueued_at, key, also_keys, size, sha256, "
    "content_type, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_ANY_READY_SQL = (
    "SELECT 1 FROM items WHERE state = 'pending' AND next_attempt_at <= ? AND lease_expires_at <= ? LIMIT 1"
)
_CLAIM_SQL = (
    "UPDATE items SET lease_holder = ?, lease_token = ?, lease_expires_at = ? "
    "WHERE seq = (SELECT seq FROM items WHERE state = 'pending' AND next_attempt_at <= ? AND lease_expires_at <= ? "
    "ORDER BY seq LIMIT 1) "
    "RETURNING seq, id, camera, kind, captured_at, key, also_keys, size, sha256, content_type, metadata, attempts, "
    "last_error"
)


class QueueFull(Exception):  # noqa: N818 - the agreed interface name
    """``put`` under ``rejectNew`` when the queue is at its bounds (the rejection is counted in ``dropped``)."""


class _Refused(Exception):  # noqa: N818 - internal signal, never leaves ``put``
    """The volume has no room for the new capture (and nothing more may be dropped)."""


@dataclass(frozen=True)
class QueueLimits:
    max_bytes: int
    max_items: int
    max_age_s: float
    overflow: Literal["dropOldest", "rejectNew"] = "dropOldest"
    #: Bytes kept free on the queue volume, so the index always has room to lease, ack and delete (a
    #: full disk must never stop the queue draining). None: scaled with the volume (``reserve_for``).
    min_free_bytes: int | None = None

    @classmethod
    def from_config(cls, c: QueueConfig) -> QueueLimits:
        return cls(
            max_bytes=c.max_bytes,
            max_items=c.max_items,
            max_age_s=c.max_age_s,
            overflow=c.overflow,
            min_free_bytes=c.min_free_bytes,
        )


@dataclass(frozen=True)
class QueueStats:
    #: items on disk, pending and failed
    depth: int
    bytes: int
    oldest_age_s: float | None
    failed: int
    dropped: int
    expired: int
    uploaded: int

    @property
    def pending(self) -> int:
        """Items still to be uploaded (waiting, leased or in backoff), failed ones excluded."""
        return self.depth - self.failed


#: A camera with nothing queued and nothing counted.
EMPTY_STATS = QueueStats(depth=0, bytes=0, oldest_age_s=None, failed=0, dropped=0, expired=0, uploaded=0)


@dataclass(frozen=True)
class QueueItem:
    """One claimed item: what an uploader needs, plus the lease token that proves the claim."""

    seq: int
    id: str
    camera: str
    kind: str
    captured_at: datetime
    key: str
    also_keys: tuple[str, ...]
    size: int
    sha256: str
    content_type: str
    metadata: dict[str, str]
    attempts: int
    last_error: str | None
    token: str
    path: Path


# -- pure decisions ------------------------------------------------------------


def would_overflow(limits: QueueLimits, items: int, size: int, incoming: int) -> bool:
    """Whether adding one item of ``incoming`` bytes breaks the item or byte bound."""
    return items + 1 > limits.max_items or size + incoming > limits.max_bytes


def reserve_for(volume_bytes: int, configured: int | None = None) -> int:
    """The free space ``put`` keeps on a volume of ``volume_bytes``: ``configured``, or 1/16 within 1..64 MiB."""
    if configured is not None:
        return configured
    return max(_RESERVE_MIN, min(_RESERVE_MAX, volume_bytes // _RESERVE_SHARE))


def room_victims(need: int, block: int, oldest_first: Iterable[tuple[int, int]]) -> list[int]:
    """The seqs to drop, oldest first, to free at least ``need`` bytes (sizes rounded up to ``block``)."""
    victims: list[int] = []
    freed = 0
    for seq, item_size in oldest_first:
        if freed >= need:
            break
        victims.append(seq)
        freed += -(-max(item_size, 1) // block) * block
    return victims


def overflow_victims(limits: QueueLimits, items: int, size: int, oldest_first: Iterable[tuple[int, int]]) -> list[int]:
    """Under ``dropOldest``: the seqs to drop, oldest first, until ``items``/``size`` fit the bounds.

    ``oldest_first`` yields (seq, size) of the items that may be dropped (not leased).
    """
    victims: list[int] = []
    for seq, item_size in oldest_first:
        if items <= limits.max_items and size <= limits.max_bytes:
            break
        victims.append(seq)
        items -= 1
        size -= item_size
    return victims


# -- the queue -------------------------------------------------------------------


@dataclass
class _Pending:
    """A row waiting for the group commit; ``done`` is set once it is committed or ``error`` is known."""

    row: tuple[object, ...]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class DurableQueue:
    """The queue in ``directory``; satisfies ``items.CaptureSink``. Thread-safe; several processes may share it."""

    def __init__(
        self,
        directory: str | Path,
        limits: QueueLimits | None = None,
        *,
        group_commit: bool = True,
        commit_window_s: float = 0.005,
    ) -> None:
        self.directory = Path(directory).absolute()
        self.limits = limits or QueueLimits.from_config(QueueConfig())
        self.name = str(self.directory)
        self.payloads = self.directory / _PAYLOADS
        self.payloads.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        # group commit: rows waiting for the next commit, puts still writing their payloads, the leader's lock
        self._group_commit = group_commit
        self._window_s = max(0.0, commit_window_s)
        self._cond = threading.Condition(threading.Lock())
        self._pending: list[_Pending] = []
        self._in_put = 0
        self._committer = threading.Lock()
        #: transactions that inserted rows, and the rows they inserted (items per commit = the ratio)
        self.commits = 0
        self.committed_items = 0
        self._work = threading.Event()
        self._closed = False
        #: the last claim found an item: the next one skips the read-only "anything ready?" probe
        self._busy = False
        # a full queue or a full disk repeats on every put: one line a minute, with a count
        self._overflow_log = RateLimited(60.0)
        self._put_error_log = RateLimited(60.0)
        self._refusal_log = RateLimited(60.0)
        self._db = sqlite3.connect(
            self.directory / _DB_NAME, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._sync_full = True
        # keep the WAL small and bounded: it must fit in the space ``min_free_bytes`` keeps free
        self._db.execute(f"PRAGMA wal_autocheckpoint={_WAL_CHECKPOINT_PAGES}")
        self._db.execute(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT}")
        self._db.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            self._db.close()
            raise RuntimeError(f"queue {self.name} was written by a newer camops (schema {version} > {SCHEMA_VERSION})")
        if version < SCHEMA_VERSION:
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        fsync_dir(self.directory)
        self._payloads_fd = os.open(self.payloads, os.O_RDONLY | os.O_DIRECTORY)
        self.sweep_orphans()
        metrics.register_queue(self)

    def __repr__(self) -> str:
        return f"DurableQueue({self.name})"

    # -- plumbing ----------------------------------------------------------------

    @contextlib.contextmanager
    def _tx(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE); ``durable=False`` skips the fsync (losing it is harmless)."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"queue {self.name} is closed")
            db = self._db
            if durable != self._sync_full:
                db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
                self._sync_full = durable
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # also when COMMIT itself failed (disk full): never leave one open
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                raise

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"queue {self.name} is closed")
            return list(self._db.execute(sql, params).fetchall())

    @staticmethod
    def _bump(db: sqlite3.Connection, name: str, by: int = 1, *, cameras: Iterable[str] = ()) -> None:
        """Add ``by`` to counter ``name``; with ``cameras`` (one entry per item), to each camera's counter too."""
        if by:
            db.execute(
                "INSERT INTO counters(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + ?",
                (name, by, by),
            )
        per_camera = CountOf(cameras)
        if per_camera:
            db.executemany(
                "INSERT INTO camera_counters(camera, name, value) VALUES (?, ?, ?) "
                "ON CONFLICT(camera, name) DO UPDATE SET value = value + excluded.value",
                [(camera, name, n) for camera, n in per_camera.items()],
            )

    def _unlink_payloads(self, ids: Iterable[str]) -> None:
        for item_id in ids:
            with contextlib.suppress(FileNotFoundError):
                (self.payloads / item_id).unlink()

    def payload_path(self, item_id: str) -> Path:
        return self.payloads / item_id

    # -- put -----------------------------------------------------------------------

    def put(self, capture: Capture) -> str:
        """Store ``capture`` durably; return its id.

        Raises ``QueueFull`` under ``rejectNew`` at the bounds, and ``OSError`` (errno ENOSPC,
        "queue volume full") when the volume has no room for it even after ``dropOldest`` dropped
        what it may; both refusals are counted in ``dropped``. Other write errors raise ``OSError``
        (counted as put errors). Either way the queue is left as it was. A ``capture.path`` file is
        moved into the queue (same filesystem) or copied and then removed.
        """
        now = time.time()
        incoming = len(capture.data) if capture.data is not None else os.path.getsize(capture.path or "")
        if self.limits.overflow == "rejectNew":
            items, size = self._totals()
            if would_overflow(self.limits, items, size, incoming):
                self._count_refusal("rejectNew", capture.camera)
                raise QueueFull(
                    f"queue {self.name} is full ({items} items, {size} bytes; limits {self.limits.max_items} items, "
                    f"{self.limits.max_bytes} bytes): rejected {capture.key}"
                )
        item_id = uuid.uuid4().hex
        with self._cond:
            self._in_put += 1
        entry: _Pending | None = None
        try:
            try:
                self._make_room(0 if self._moved_in(capture) else incoming)
                fd, size, digest = self._write_payload(item_id, capture)
            except (OSError, _Refused) as exc:
                raise self._refused_or_failed(exc, capture, incoming) from exc
            row = (
                item_id,
                capture.camera,
                str(capture.kind),
                capture.captured_at.timestamp(),
                now,
                capture.key,
                json.dumps(list(capture.also_keys)),
                size,
                digest,
                capture.content_type,
                json.dumps(capture.metadata, sort_keys=True),
            )
            entry = _Pending(row=row)
            try:
                with self._cond:
                    self._pending.append(entry)
                    self._in_put -= 1
                    self._cond.notify_all()
                self._await_commit(entry)
                if entry.error is not None:
                    with contextlib.suppress(OSError):
                        (self.payloads / item_id).unlink()
                    raise self._refused_or_failed(entry.error, capture, incoming) from entry.error
            finally:
                os.close(fd)  # releases the flock: from now on the payload belongs to its row
        finally:
            if entry is None:
                with self._cond:
                    self._in_put -= 1
        if capture.path is not None:
            with contextlib.suppress(FileNotFoundError):
                capture.path.unlink()  # copied across filesystems; the queue holds its own copy
        self._work.set()
        return item_id

    # -- group commit ----------------------------------------------------------------

    def _await_commit(self, entry: _Pending) -> None:
        """Return once ``entry``'s row is committed (or failed): by leading a commit or by following one."""
        while not entry.done.is_set():
            with self._committer:
                if entry.done.is_set():
                    return
                batch = self._gather()
                if batch:
                    self._commit_batch(batch)

    def _gather(self) -> list[_Pending]:
        """The leader's batch: every row waiting, after waiting up to the window for puts already writing."""
        with self._cond:
            if self._group_commit:
                deadline = time.monotonic() + self._window_s
                while self._in_put > 0 and len(self._pending) < _MAX_BATCH:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                size = _MAX_BATCH
            else:
                size = 1
            batch, self._pending = self._pending[:size], self._pending[size:]
            return batch

    def _commit_batch(self, batch: list[_Pending]) -> None:
        """One folder fsync and one transaction for every row in ``batch``; each entry learns its outcome."""
        victims: list[str] = []
        try:
            os.fsync(self._payloads_fd)  # the payloads' new names are durable before their rows
            with self._tx() as db:
                db.executemany(_INSERT_SQL, [e.row for e in batch])
                victims = self._enforce_bounds(db, time.time())
            self.commits += 1
            self.committed_items += len(batch)
            metrics.COMMITS.labels(queue=self.name).inc()
            metrics.COMMITTED_ITEMS.labels(queue=self.name).inc(len(batch))
        except (sqlite3.Error, OSError) as exc:
            for e in batch:
                e.error = exc
        finally:
            for e in batch:
                e.done.set()
        self._unlink_payloads(victims)

    # -- free space ------------------------------------------------------------------

    def _moved_in(self, capture: Capture) -> bool:
        """Whether ``capture``'s file is renamed in (same filesystem): it takes no new space."""
        if capture.path is None:
            return False
        try:
            return os.stat(capture.path).st_dev == os.fstat(self._payloads_fd).st_dev
        except OSError:
            return False

    def make_room(self, incoming: int = 0) -> bool:
        """Keep the free-space reserve free after ``incoming`` more bytes land on the volume (an open segment).

        Under ``dropOldest`` drops (and counts) the oldest items as needed; returns False when the
        reserve cannot be kept (``rejectNew``, or nothing left to drop).
        """
        try:
            self._make_room(incoming)
        except _Refused:
            return False
        return True

    def _make_room(self, incoming: int) -> None:
        """Keep the reserve free after writing ``incoming`` bytes: drop the oldest (``dropOldest``) or refuse."""
        info = os.statvfs(self.payloads)
        reserve = reserve_for(info.f_blocks * info.f_frsize, self.limits.min_free_bytes)
        if reserve <= 0:
            return
        block = max(info.f_frsize, 1)
        need = reserve + incoming + block - info.f_bavail * info.f_frsize
        if need <= 0:
            return
        # the index's own writes (the deletes) take some of what a drop frees: look again, a few rounds at most
        rounds = 0
        while self.limits.overflow == "dropOldest" and rounds < 8 and self._drop_oldest_for(need, block):
            rounds += 1
            info = os.statvfs(self.payloads)
            need = reserve + incoming + block - info.f_bavail * info.f_frsize
            if need <= 0:
                return
        raise _Refused(
            f"only {info.f_bavail * info.f_frsize} bytes free, {reserve} are kept for the queue's index "
            f"and nothing more can be dropped"
        )

    def _drop_oldest_for(self, need: int, block: int) -> int:
        """Drop (and count) the oldest unleased items until ``need`` bytes are freed; returns how many."""
        now = time.time()
        with self._tx(durable=False) as db:
            cursor = db.execute(
                "SELECT seq, size, id, camera FROM items WHERE lease_expires_at <= ? ORDER BY seq", (now,)
            )
            ids: dict[int, str] = {}
            owners: dict[int, str] = {}

            def oldest() -> Iterator[tuple[int, int]]:  # read lazily: only as many rows as the room needs
                for seq, item_size, item_id, camera in cursor:
                    ids[seq], owners[seq] = item_id, camera
                    yield seq, item_size

            victims = room_victims(need, block, oldest())
            if victims:
                db.executemany("DELETE FROM items WHERE seq = ?", [(v,) for v in victims])
                self._bump(db, "dropped_dropOldest", len(victims), cameras=[owners[v] for v in victims])
        if victims:
            metrics.DROPPED.labels(queue=self.name, reason="dropOldest").inc(len(victims))
            self._unlink_payloads(ids[v] for v in victims)
            folded = self._overflow_log(now)
            if folded is not None:
                log.warning(
                    "event=queue_overflow queue=%s dropped=%d policy=dropOldest cause=free_space earlier_overflows=%d",
                    self.name,
                    len(victims),
                    folded,
                )
        return len(victims)

    def _refused_or_failed(self, exc: BaseException, capture: Capture, incoming: int) -> Exception:
        """Count a failed put (a full volume is a counted drop) and return the error ``put`` raises."""
        full = isinstance(exc, _Refused) or (
            (isinstance(exc, OSError) and exc.errno == errno.ENOSPC)
            or (isinstance(exc, sqlite3.Error) and "full" in str(exc).lower())
        )
        if full:
            self._count_refusal("volumeFull", capture.camera)
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            return OSError(
                errno.ENOSPC,
                f"queue volume full: cannot store {capture.key} ({incoming} bytes) in {self.name}: {detail}",
            )
        if isinstance(exc, sqlite3.Error):
            error = OSError(errno.EIO, f"queue index error: cannot store {capture.key} in {self.name}: {exc}")
            self._count_put_error(error)
            return error
        error = exc if isinstance(exc, OSError) else OSError(errno.EIO, str(exc))
        self._count_put_error(error)
        return error

    def _count_refusal(self, reason: str, camera: str) -> None:
        metrics.DROPPED.labels(queue=self.name, reason=reason).inc()
        with contextlib.suppress(sqlite3.Error, RuntimeError), self._tx(durable=False) as db:
            self._bump(db, f"dropped_{reason}", cameras=[camera])
        folded = self._refusal_log(time.monotonic())
        if folded is not None:
            log.warning(
                "event=queue_refused queue=%s reason=%s policy=%s earlier_overflows=%d",
                self.name,
                reason,
                self.limits.overflow,
                folded,
            )

    def _count_put_error(self, exc: OSError) -> None:
        reason = errno.errorcode.get(exc.errno or 0, "os_error")
        metrics.PUT_ERRORS.labels(queue=self.name, reason=reason).inc()
        with contextlib.suppress(sqlite3.Error, RuntimeError), self._tx(durable=False) as db:
            self._bump(db, f"put_error_{reason}")
        folded = self._put_error_log(time.monotonic())
        if folded is not None:
            log.error(
                "event=queue_put_failed queue=%s reason=%s error=%s earlier_failures=%d",
                self.name,
                reason,
                redact(exc),
                folded,
            )

    def _write_payload(self, item_id: str, capture: Capture) -> tuple[int, int, str]:
        """The single place payload bytes reach the disk. Returns (locked fd, size, sha256 hex).

        The payload ends up at ``payloads/<id>``, fsynced with its folder entry, and the
        returned descriptor holds an exclusive flock on it until the caller closes it. A
        ``capture.path`` on the queue's filesystem is renamed in (no copy); on failure it is
        given back under its old name.
        """
        tmp = self.payloads / f"{_TMP}{item_id}"
        final = self.payloads / item_id
        digest = hashlib.sha256()
        moved_from = capture.path if capture.path is not None else None
        fd = _adopt(capture.path, tmp) if capture.path is not None else None
        if fd is None:
            moved_from = None
            fd = _create_locked(tmp)
        try:
            if capture.data is not None:
                digest.update(capture.data)
                _write_all(fd, capture.data)
            elif moved_from is not None:
                while chunk := os.read(fd, _CHUNK):
                    digest.update(chunk)
            elif capture.path is not None:
                with open(capture.path, "rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        _write_all(fd, chunk)
            os.fsync(fd)
            size = os.fstat(fd).st_size
            os.rename(tmp, final)  # the new name is made durable by the group commit (one folder fsync)
        except BaseException:
            os.close(fd)
            for leftover in (tmp, final):
                with contextlib.suppress(OSError):
                    if moved_from is not None:
                        os.rename(leftover, moved_from)  # the capture keeps its file
                    else:
                        leftover.unlink()
            raise
        return fd, size, digest.hexdigest()

    def _enforce_bounds(self, db: sqlite3.Connection, now: float) -> list[str]:
        """Expire old items and, under dropOldest, drop the oldest unleased ones until within bounds."""
        removed: list[str] = []
        if self.limits.max_age_s > 0:
            rows = db.execute(
                "SELECT seq, id, camera FROM items WHERE captured_at < ? AND lease_expires_at <= ? ORDER BY seq",
                (now - self.limits.max_age_s, now),
            ).fetchall()
            if rows:
                db.executemany("DELETE FROM items WHERE seq = ?", [(r[0],) for r in rows])
                self._bump(db, "expired", len(rows), cameras=[str(r[2]) for r in rows])
                metrics.EXPIRED.labels(queue=self.name).inc(len(rows))
                removed.extend(str(r[1]) for r in rows)
        if self.limits.overflow == "dropOldest":
            items, size = db.execute("SELECT items, bytes FROM totals WHERE id = 1").fetchone()
            if items > self.limits.max_items or size > self.limits.max_bytes:
                candidates = db.execute(
                    "SELECT seq, size, id, camera FROM items WHERE lease_expires_at <= ? ORDER BY seq", (now,)
                )
                ids: dict[int, str] = {}
                owners: dict[int, str] = {}

                def oldest() -> Iterator[tuple[int, int]]:
                    for seq, item_size, item_id, camera in candidates:
                        ids[seq] = item_id
                        owners[seq] = camera
                        yield seq, item_size

                victims = overflow_victims(self.limits, items, size, oldest())
                if victims:
                    db.executemany("DELETE FROM items WHERE seq = ?", [(s,) for s in victims])
                    self._bump(db, "dropped_dropOldest", len(victims), cameras=[owners[s] for s in victims])
                    metrics.DROPPED.labels(queue=self.name, reason="dropOldest").inc(len(victims))
                    removed.extend(ids[s] for s in victims)
                    folded = self._overflow_log(now)
                    if folded is not None:
                        log.warning(
                            "event=queue_overflow queue=%s dropped=%d policy=dropOldest earlier_overflows=%d",
                            self.name,
                            len(victims),
                            folded,
                        )
        return removed

    def expire(self, now: float | None = None) -> int:
        """Remove (and count) items past the max age; returns how many."""
        when = time.time() if now is None else now
        before = self._counter("expired")
        with self._tx(durable=False) as db:
            removed = self._enforce_bounds(db, when) if self.limits.max_age_s > 0 else []
        self._unlink_payloads(removed)
        return self._counter("expired") - before

    # -- leases ------------------------------------------------------------------------

    def claim(self, holder: str, lease_s: float, now: float | None = None) -> QueueItem | None:
        """Lease the oldest ready item to ``holder`` for ``lease_s`` seconds, or None when nothing is ready."""
        when = time.time() if now is None else now
        # idle polls never take the write lock; while items keep coming the claim goes straight
        # to its one UPDATE (no extra SELECT per item)
        if not self._busy and not self._read(_ANY_READY_SQL, (when, when)):
            return None
        token = uuid.uuid4().hex
        with self._tx(durable=False) as db:
            row = db.execute(_CLAIM_SQL, (holder, token, when + lease_s, when, when)).fetchone()
        self._busy = row is not None
        if row is None:
            return None
        seq, item_id, camera, kind, captured, key, also, size, sha, ctype, meta, attempts, last_error = row
        return QueueItem(
            seq=int(seq),
            id=str(item_id),
            camera=str(camera),
            kind=str(kind),
            captured_at=datetime.fromtimestamp(float(captured), UTC),
            key=str(key),
            also_keys=tuple(json.loads(str(also))),
            size=int(size),
            sha256=str(sha),
            content_type=str(ctype),
            metadata=dict(json.loads(str(meta))),
            attempts=int(attempts),
            last_error=None if last_error is None else str(last_error),
            token=token,
            path=self.payloads / str(item_id),
        )

    def renew(self, items: Iterable[QueueItem], lease_s: float, now: float | None = None) -> int:
        """Extend the leases still held (token matches); returns how many were extended."""
        when = time.time() if now is None else now
        held = [(when + lease_s, i.seq, i.token) for i in items]
        if not held:
            return 0
        with self._tx(durable=False) as db:
            before = db.total_changes
            db.executemany("UPDATE items SET lease_expires_at = ? WHERE seq = ? AND lease_token = ?", held)
            return db.total_changes - before

    def ack(self, item: QueueItem) -> bool:
        """The store confirmed ``item``: delete its row, then its file. False when the lease was lost meanwhile."""
        with self._tx(durable=False) as db:
            cur = db.execute("DELETE FROM items WHERE seq = ? AND lease_token = ?", (item.seq, item.token))
            done = cur.rowcount > 0
            if done:
                self._bump(db, "uploaded", cameras=[item.camera])
        if done:
            self._unlink_payloads([item.id])
        return done

    def note_written(self, key: str, seq: int) -> None:
        """Item ``seq`` wrote the shared key ``key``: older items must not overwrite it any more."""
        with self._tx(durable=False) as db:
            db.execute(
                "INSERT INTO latest(key, seq) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET seq = max(seq, excluded.seq)",
                (key, seq),
            )

    def newer_written(self, key: str, seq: int) -> bool:
        """Whether a newer item than ``seq`` already wrote the shared key ``key`` (e.g. latest.jpg)."""
        rows = self._read("SELECT seq FROM latest WHERE key = ?", (key,))
        return bool(rows) and int(str(rows[0][0])) > seq

    def retry_later(self, item: QueueItem, error: str, delay_s: float, now: float | None = None) -> None:
        """A transient failure: count the attempt, keep the item, try again after ``delay_s``."""
        when = time.time() if now is None else now
        with self._tx(durable=False) as db:
            db.execute(
                "UPDATE items SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, lease_holder = NULL, "
                "lease_token = NULL, lease_expires_at = 0 WHERE seq = ? AND lease_token = ?",
                (when + delay_s, redact(error)[:500], item.seq, item.token),
            )

    def release(self, item: QueueItem) -> None:
        """Give an unattempted item back (pool stopping, breaker opened)."""
        with self._tx(durable=False) as db:
            db.execute(
                "UPDATE items SET lease_holder = NULL, lease_token = NULL, lease_expires_at = 0 "
                "WHERE seq = ? AND lease_token = ?",
                (item.seq, item.token),
            )

    def park(self, item: QueueItem, error: str) -> None:
        """A permanent failure: keep the item on disk as ``failed`` until ``retry_failed`` or expiry."""
        with self._tx() as db:
            db.execute(
                "UPDATE items SET state = 'failed', attempts = attempts + 1, last_error = ?, lease_holder = NULL, "
                "lease_token = NULL, lease_expires_at = 0 WHERE seq = ? AND lease_token = ?",
                (redact(error)[:500], item.seq, item.token),
            )
            self._bump(db, "parked")

    def drop_missing(self, item: QueueItem) -> None:
        """The payload file vanished (not by us): remove the row and count it as dropped."""
        with self._tx() as db:
            cur = db.execute("DELETE FROM items WHERE seq = ? AND lease_token = ?", (item.seq, item.token))
            if cur.rowcount:
                self._bump(db, "dropped_payload_missing", cameras=[item.camera])
                metrics.DROPPED.labels(queue=self.name, reason="payload_missing").inc()
        log.error("event=queue_payload_missing queue=%s key=%s", self.name, item.key)

    def retry_failed(self) -> int:
        """Re-arm every failed item (``camops queue retry``); returns how many."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE items SET state = 'pending', attempts = 0, next_attempt_at = 0 WHERE state = 'failed'"
            )
            count = cur.rowcount
        if count:
            self._work.set()
        return count

    def failed_items(self, limit: int = 20) -> list[tuple[str, str, int, str | None]]:
        """(id, key, attempts, last error) of parked items, oldest first."""
        rows = self._read(
            "SELECT id, key, attempts, last_error FROM items WHERE state = 'failed' ORDER BY seq LIMIT ?", (limit,)
        )
        return [(str(a), str(b), int(str(c)), None if d is None else str(d)) for a, b, c, d in rows]

    # -- housekeeping ----------------------------------------------------------------

    def sweep_orphans(self) -> int:
        """Delete payload files no row owns and no live ``put`` holds; returns how many."""
        removed = 0
        try:
            names = os.listdir(self.payloads)
        except FileNotFoundError:
            return 0
        known = {str(r[0]) for r in self._read("SELECT id FROM items")}
        for name in names:
            item_id = name.removeprefix(_TMP)
            if name == item_id and name in known:
                continue
            path = self.payloads / name
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a put is still writing or committing it
                if name == item_id and self._read("SELECT 1 FROM items WHERE id = ?", (item_id,)):
                    continue  # committed while we looked
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
            finally:
                os.close(fd)
        if removed:
            log.info("event=queue_orphans_removed queue=%s files=%d", self.name, removed)
        return removed

    def wait_for_work(self, timeout: float) -> None:
        """Block until a put in this process signals new work, or ``timeout`` passes."""
        if self._work.wait(timeout):
            self._work.clear()

    # -- stats -------------------------------------------------------------------------

    def _totals(self) -> tuple[int, int]:
        rows = self._read("SELECT items, bytes FROM totals WHERE id = 1")
        return int(str(rows[0][0])), int(str(rows[0][1]))

    def _counter(self, name: str) -> int:
        rows = self._read("SELECT value FROM counters WHERE name = ?", (name,))
        return int(str(rows[0][0])) if rows else 0

    def by_camera(self) -> dict[str, tuple[int, int]]:
        """(items, bytes) waiting per camera: one queue serves every camera of a worker."""
        rows = self._read("SELECT camera, COUNT(*), COALESCE(SUM(size), 0) FROM items GROUP BY camera ORDER BY camera")
        return {str(c): (int(str(n)), int(str(b))) for c, n, b in rows}

    def counters(self) -> dict[str, int]:
        """Every counter (uploaded, expired, dropped_<reason>, put_error_<reason>, parked)."""
        return {str(n): int(str(v)) for n, v in self._read("SELECT name, value FROM counters ORDER BY name")}

    def cameras(self) -> list[str]:
        """Every camera with items waiting or counted in this queue."""
        rows = self._read("SELECT camera FROM items UNION SELECT camera FROM camera_counters ORDER BY 1")
        return [str(r[0]) for r in rows]

    def camera_counters(self, camera: str) -> dict[str, int]:
        """The counters (uploaded, expired, dropped_<reason>) of one camera's items."""
        rows = self._read("SELECT name, value FROM camera_counters WHERE camera = ? ORDER BY name", (camera,))
        return {str(n): int(str(v)) for n, v in rows}

    def camera_stats(self, camera: str, now: float | None = None) -> QueueStats:
        """``stats`` narrowed to one camera's items: what its status reports when cameras share a queue."""
        return self.stats_by_camera(now, camera=camera).get(camera, EMPTY_STATS)

    def stats_by_camera(self, now: float | None = None, *, camera: str | None = None) -> dict[str, QueueStats]:
        """Every camera's own stats (or only ``camera``'s) in two grouped reads, for a status pass of a pool."""
        when = time.time() if now is None else now
        args = (camera, camera)  # no camera: every camera
        items = self._read(
            "SELECT camera, COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(state = 'failed'), 0), MIN(captured_at) "
            "FROM items WHERE (? IS NULL OR camera = ?) GROUP BY camera",
            args,
        )
        counters: dict[str, dict[str, int]] = {}
        for name, counter, value in self._read(
            "SELECT camera, name, value FROM camera_counters WHERE (? IS NULL OR camera = ?)", args
        ):
            counters.setdefault(str(name), {})[str(counter)] = int(str(value))
        waiting = {str(row[0]): row[1:] for row in items}
        out: dict[str, QueueStats] = {}
        for name in sorted(set(waiting) | set(counters)):
            depth, size, failed, oldest = waiting.get(name, (0, 0, 0, None))
            mine = counters.get(name, {})
            out[name] = QueueStats(
                depth=int(str(depth)),
                bytes=int(str(size)),
                oldest_age_s=None if oldest is None else max(0.0, when - float(str(oldest))),
                failed=int(str(failed)),
                dropped=sum(v for k, v in mine.items() if k.startswith("dropped_")),
                expired=mine.get("expired", 0),
                uploaded=mine.get("uploaded", 0),
            )
        return out

    def stats(self, now: float | None = None) -> QueueStats:
        when = time.time() if now is None else now
        items, size = self._totals()
        failed = int(str(self._read("SELECT COUNT(*) FROM items WHERE state = 'failed'")[0][0]))
        oldest = self._read("SELECT MIN(captured_at) FROM items")[0][0]
        counters = self.counters()
        return QueueStats(
            depth=items,
            bytes=size,
            oldest_age_s=None if oldest is None else max(0.0, when - float(str(oldest))),
            failed=failed,
            dropped=sum(v for k, v in counters.items() if k.startswith("dropped_")),
            expired=counters.get("expired", 0),
            uploaded=counters.get("uploaded", 0),
        )

    def gauges(self) -> tuple[int, int, float | None, int] | None:
        """For the metrics collector: (depth, bytes, oldest age, failed), None once closed."""
        if self._closed:
            return None
        try:
            s = self.stats()
        except (sqlite3.Error, RuntimeError):
            return None
        return s.depth, s.bytes, s.oldest_age_s, s.failed

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()
                os.close(self._payloads_fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _create_locked(path: Path, attempts: int = 3) -> int:
    """Create ``path`` and hold an exclusive flock on it.

    Between the creation and the lock the orphan sweep may see an unlocked file without a
    row and remove it; the lock is then held on a nameless inode. Check that the name still
    points at our file, and create it again when it does not.
    """
    for _ in range(attempts):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o640)
        fcntl.flock(fd, fcntl.LOCK_EX)
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        os.close(fd)
    raise OSError(errno.EBUSY, f"payload {path.name} was removed while being created {attempts} times")


def _adopt(path: Path, target: Path) -> int | None:
    """Lock ``path`` and rename it to ``target``; None when they are on different filesystems (copy instead)."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(path, target)
    except OSError as exc:
        os.close(fd)
        if exc.errno == errno.EXDEV:
            return None
        raise
    return fd

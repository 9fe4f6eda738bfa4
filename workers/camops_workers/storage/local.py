"""A folder as an object store, for local mode.

Keys map to real paths below ``root`` (the ``dated`` layout becomes real
``<camera>/<YYYY-MM>/<DD>/`` folders). Every write goes to a temporary file in the
target folder, is fsynced and then ``os.replace``-d into place, so a reader never
sees a half-written object and ``latest.jpg`` is swapped atomically. User metadata
(the sha256 among it) is kept in extended attributes where the filesystem has them.

Hidden entries (names starting with '.') are not objects: listings skip them, so a
data folder can hold its own state (local mode's ``.camops/`` queue, log and cache)
and in-flight temporary files without either showing up in stats or retention.
"""

from __future__ import annotations

import contextlib
import errno
import mimetypes
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from camops_workers.fsutil import fsync_dir
from camops_workers.redact import redact
from camops_workers.storage.base import (
    ObjectStore,
    PermanentStorageError,
    StorageError,
    StoredObject,
    TransientStorageError,
)
from camops_workers.storage.keys import check_key

__all__ = ["TEMP_PREFIX", "LocalStore"]

#: Temporary files being written start with this; listings skip them.
TEMP_PREFIX = ".camops-tmp-"
_XATTR_PREFIX = "user.camops."
_CONTENT_TYPE_ATTR = "content-type"


def _os_error(action: str, key: str, exc: OSError) -> StorageError:
    """Sort an OSError: a full or unavailable disk may pass, a permission or name problem will not."""
    text = redact(f"{action} {key!r} failed: {exc.strerror or exc}")
    reason = errno.errorcode.get(exc.errno or 0, "os_error")
    if exc.errno in {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENAMETOOLONG, errno.EISDIR, errno.ENOTDIR}:
        return PermanentStorageError(text, reason=reason)
    return TransientStorageError(text, reason=reason)


class LocalStore:
    """Objects as files below ``root``; implements ``ObjectStore``."""

    def __init__(self, root: str | Path, *, create: bool = True) -> None:
        self.root = Path(root).absolute()
        self.create = create
        self.description = f"dir:{self.root}"

    def __repr__(self) -> str:
        return f"LocalStore({self.description})"

    # -- helpers -------------------------------------------------------------

    def _path(self, key: str) -> Path:
        try:
            check_key(key)
        except ValueError as exc:
            raise PermanentStorageError(redact(exc), reason="invalid_key") from None
        return self.root.joinpath(*key.split("/"))

    def _key(self, path: Path) -> str:
        return "/".join(path.relative_to(self.root).parts)

    # -- protocol ------------------------------------------------------------

    def ensure_bucket(self) -> None:
        """Create the root folder when missing (and allowed)."""
        if self.root.is_dir():
            return
        if not self.create:
            raise PermanentStorageError(f"folder {self.root} does not exist and creating it is not allowed")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _os_error("creating folder", str(self.root), exc) from None

    def put_file(self, key: str, path: Path, content_type: str, metadata: dict[str, str]) -> None:
        """Copy ``path`` to ``key`` atomically: temp file in the target folder, fsync, replace, fsync folder."""
        target = self._path(key)
        tmp = target.with_name(f"{TEMP_PREFIX}{uuid.uuid4().hex}")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "rb") as src, open(tmp, "xb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
                dst.flush()
                os.fsync(dst.fileno())
            self._write_xattrs(tmp, content_type, metadata)
            os.replace(tmp, target)
            fsync_dir(target.parent)
        except FileNotFoundError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if exc.filename == str(path):
                raise PermanentStorageError(f"source file for {key!r} is missing") from None
            raise _os_error("writing", key, exc) from None
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise _os_error("writing", key, exc) from None

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise PermanentStorageError(f"object {key!r} does not exist") from None
        except OSError as exc:
            raise _os_error("reading", key, exc) from None

    def stat(self, key: str) -> StoredObject | None:
        path = self._path(key)
        try:
            info = path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _os_error("stat of", key, exc) from None
        if not path.is_file():
            return None
        return StoredObject(
            key=key,
            size=info.st_size,
            last_modified=datetime.fromtimestamp(info.st_mtime, UTC),
            metadata={k: v for k, v in self._read_xattrs(path).items() if k != _CONTENT_TYPE_ATTR},
        )

    def list_objects(
        self, prefix: str, *, recursive: bool = True, start_after: str | None = None
    ) -> Iterator[StoredObject]:
        """Files whose key starts with ``prefix``, in key (byte) order, like an S3 listing."""
        folder_part, _, _ = prefix.rpartition("/")
        base = self.root.joinpath(*folder_part.split("/")) if folder_part else self.root
        if folder_part:
            try:
                check_key(folder_part)
            except ValueError as exc:
                raise PermanentStorageError(redact(exc)) from None
        for path in self._walk(base, recursive=recursive, prefix=prefix):
            key = self._key(path)
            if start_after is not None and key <= start_after:
                continue
            try:
                info = path.stat()
            except FileNotFoundError:
                continue  # removed while we listed
            yield StoredObject(key=key, size=info.st_size, last_modified=datetime.fromtimestamp(info.st_mtime, UTC))

    def _walk(self, folder: Path, *, recursive: bool, prefix: str) -> Iterator[Path]:
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise _os_error("listing", str(folder), exc) from None
        # keys sort byte-wise; a folder's keys all start with "<name>/", so sort folders by that.
        entries.sort(key=lambda e: (e.name + "/" if e.is_dir(follow_symlinks=False) else e.name).encode())
        for entry in entries:
            if entry.name.startswith("."):
                continue  # hidden: temporary files and the folder's own state
            path = Path(entry.path)
            key = self._key(path)
            if entry.is_dir(follow_symlinks=False):
                sub = key + "/"
                if recursive and (sub.startswith(prefix) or prefix.startswith(sub)):
                    yield from self._walk(path, recursive=True, prefix=prefix)
            elif entry.is_file(follow_symlinks=False) and key.startswith(prefix):
                yield path

    def list_folders(self, prefix: str) -> list[str]:
        """Folders one level below ``prefix`` (each ending in '/'), sorted."""
        folder_part, _, partial = prefix.rpartition("/")
        base = self.root.joinpath(*folder_part.split("/")) if folder_part else self.root
        try:
            entries = list(os.scandir(base))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise _os_error("listing", prefix, exc) from None
        lead = f"{folder_part}/" if folder_part else ""
        return sorted(
            f"{lead}{e.name}/"
            for e in entries
            if e.is_dir(follow_symlinks=False) and e.name.startswith(partial) and not e.name.startswith(".")
        )

    def remove(self, keys: Iterable[str]) -> list[tuple[str, str]]:
        """Delete files (missing ones count as deleted) and prune folders left empty."""
        failures: list[tuple[str, str]] = []
        parents: set[Path] = set()
        for key in keys:
            try:
                path = self._path(key)
                path.unlink()
                parents.add(path.parent)
            except FileNotFoundError:
                continue
            except StorageError as exc:
                failures.append((key, str(exc)))
            except OSError as exc:
                failures.append((key, str(_os_error("removing", key, exc))))
        for parent in sorted(parents, key=lambda p: len(p.parts), reverse=True):
            self._prune(parent)
        return failures

    def _prune(self, folder: Path) -> None:
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def copy_to(self, key: str, target: ObjectStore, target_key: str) -> None:
        source = self._path(key)
        if not source.is_file():
            raise PermanentStorageError(f"object {key!r} does not exist")
        meta = self._read_xattrs(source)
        content_type = meta.pop(_CONTENT_TYPE_ATTR, None) or mimetypes.guess_type(key)[0] or "application/octet-stream"
        target.put_file(target_key, source, content_type, meta)

    # -- metadata ------------------------------------------------------------

    @staticmethod
    def _write_xattrs(path: Path, content_type: str, metadata: dict[str, str]) -> None:
        items = {**metadata, _CONTENT_TYPE_ATTR: content_type}
        for name, value in items.items():
            try:
                os.setxattr(path, _XATTR_PREFIX + name.lower(), value.encode("utf-8"))
            except OSError as exc:
                if exc.errno in {errno.ENOTSUP, errno.EPERM, errno.EOPNOTSUPP}:
                    return  # the filesystem keeps no user metadata; the bytes are what matters
                raise

    @staticmethod
    def _read_xattrs(path: Path) -> dict[str, str]:
        try:
            names = os.listxattr(path)
        except OSError:
            return {}
        out: dict[str, str] = {}
        for name in names:
            if name.startswith(_XATTR_PREFIX):
                with contextlib.suppress(OSError, UnicodeDecodeError):
                    out[name[len(_XATTR_PREFIX) :]] = os.getxattr(path, name).decode("utf-8")
        return out

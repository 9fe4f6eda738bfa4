"""The object-store protocol every store implements (MinIO/S3 and the local folder).

Capture never talks to a store; the uploader pool and retention do, through this.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

__all__ = [
    "ObjectStore",
    "PermanentStorageError",
    "StorageError",
    "StoredObject",
    "TransientStorageError",
]


class StorageError(Exception):
    """A store operation failed. The message is already redacted.

    ``reason`` is a short, credential-free word fit for a metric label ("AccessDenied", "connection").
    """

    def __init__(self, message: str, *, reason: str = "error") -> None:
        super().__init__(message)
        self.reason = reason


class TransientStorageError(StorageError):
    """Worth retrying later: connection refused, timeout, 5xx, SlowDown."""


class PermanentStorageError(StorageError):
    """Retrying will not help: access denied, bucket missing and not creatable, invalid key."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime
    metadata: dict[str, str] = field(default_factory=dict)


class ObjectStore(Protocol):
    """A bucket (or folder). Keys come from ``storage.keys``; stores never invent them."""

    #: A short, credential-free description for logs ("s3://cameras at minio:9000", "dir:/data").
    description: str

    def ensure_bucket(self) -> None:
        """Create the bucket/folder when missing and allowed; PermanentStorageError otherwise."""
        ...

    def put_file(self, key: str, path: Path, content_type: str, metadata: dict[str, str]) -> None:
        """Upload a file to ``key`` (overwrites). Returns only once the store confirmed."""
        ...

    def get(self, key: str) -> bytes:
        """Return an object's bytes (StorageError when missing)."""
        ...

    def stat(self, key: str) -> StoredObject | None:
        """Size, LastModified and user metadata of ``key``, or None when it does not exist."""
        ...

    def list_objects(
        self, prefix: str, *, recursive: bool = True, start_after: str | None = None
    ) -> Iterator[StoredObject]:
        """Objects under ``prefix`` in key order."""
        ...

    def list_folders(self, prefix: str) -> list[str]:
        """The "folders" one level below ``prefix`` (delimiter '/'), each ending in '/'."""
        ...

    def remove(self, keys: Iterable[str]) -> list[tuple[str, str]]:
        """Delete keys in batches of up to 1000; return (key, redacted error) for each failure."""
        ...

    def copy_to(self, key: str, target: ObjectStore, target_key: str) -> None:
        """Copy one object into another store (server-side when both are the same S3 endpoint)."""
        ...

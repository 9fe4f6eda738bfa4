"""MinIO / any S3 API through the ``minio`` client: the only module that talks to object storage.

Errors are sorted at this boundary into ``TransientStorageError`` (connection refused,
timeouts, 5xx, SlowDown: retry later) and ``PermanentStorageError`` (access denied,
missing bucket without the right to create it, invalid key or bucket name: a human
must act). Messages are redacted. The client's own retry loop is turned off: the
uploader pool's circuit breaker and per-item backoff decide when to try again.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import urllib3
from minio import Minio
from minio.commonconfig import CopySource
from minio.deleteobjects import DeleteObject
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError

from camops_workers.redact import redact
from camops_workers.storage.base import (
    ObjectStore,
    PermanentStorageError,
    StorageError,
    StoredObject,
    TransientStorageError,
)
from camops_workers.storage.keys import check_key

__all__ = ["ErrorInfo", "MinioStore", "classify_error"]

T = TypeVar("T")

#: S3 error codes worth retrying (the rest of 4xx is permanent).
_TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "SlowDown",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "OperationAborted",
        "XMinioServerNotInitialized",
        "XMinioStorageFull",
        "RequestLimitExceeded",
        "Throttling",
    }
)
_META_PREFIX = "x-amz-meta-"
_BATCH = 1000


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """How a failure is sorted: ``permanent`` or not, and a short ``reason`` fit for a metric label."""

    permanent: bool
    reason: str


def classify_error(exc: BaseException) -> ErrorInfo:  # noqa: PLR0911 - one exit per error family
    """Sort an exception raised by the minio client or urllib3 (pure; no I/O)."""
    if isinstance(exc, S3Error):
        code = exc.code or "Unknown"
        status = getattr(exc.response, "status", 0) or 0
        if code in _TRANSIENT_CODES or status >= 500 or status in {408, 429}:
            return ErrorInfo(False, code)
        return ErrorInfo(True, code)
    if isinstance(exc, ServerError):
        status = exc.status_code
        return ErrorInfo(not (status >= 500 or status in {408, 429}), f"http_{status}")
    if isinstance(exc, InvalidResponseError):
        status = getattr(exc, "_code", 0) or 0
        if status >= 500 or status in {408, 429} or not status:
            return ErrorInfo(False, f"http_{status}")
        return ErrorInfo(True, "AccessDenied" if status == 403 else f"http_{status}")
    if isinstance(exc, urllib3.exceptions.TimeoutError | TimeoutError):
        return ErrorInfo(False, "timeout")
    if isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError | OSError):
        return ErrorInfo(False, "connection")
    if isinstance(exc, ValueError):  # the client's own checks: bucket or object name
        return ErrorInfo(True, "invalid_request")
    if isinstance(exc, MinioException):
        return ErrorInfo(False, "unknown")
    return ErrorInfo(False, type(exc).__name__)


def _describe(exc: BaseException) -> str:
    """A short message: the S3 code and message, not the request ids and headers."""
    if isinstance(exc, S3Error):
        return f"{exc.code}: {exc.message}"
    if isinstance(exc, InvalidResponseError):
        status = getattr(exc, "_code", "?")
        return f"{'AccessDenied: ' if status == 403 else ''}HTTP {status} from the server (no S3 error document)"
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        return f"{type(exc.reason).__name__}: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


class MinioStore:
    """One bucket on an S3 endpoint; implements ``ObjectStore``."""

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        secure: bool = True,
        region: str | None = None,
        create_bucket: bool = True,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
        pool_size: int = 10,
    ) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.secure = secure
        self.region = region
        self.create_bucket = create_bucket
        self._secrets = tuple(s for s in (access_key, secret_key) if s)
        self.description = f"s3://{bucket} at {'https' if secure else 'http'}://{endpoint}"
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout_s, read=read_timeout_s),
            maxsize=pool_size,
            retries=urllib3.Retry(total=0, connect=0, read=0, redirect=0, status=0, raise_on_status=False),
        )
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )

    def __repr__(self) -> str:
        return f"MinioStore({self.description})"

    def _call(self, action: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001 - sorted into our two error kinds right here
            raise self._error(action, exc) from None

    def _error(self, action: str, exc: BaseException) -> StorageError:
        info = classify_error(exc)
        text = redact(f"{action}: {_describe(exc)}", self._secrets)
        if info.permanent:
            return PermanentStorageError(text, reason=info.reason)
        return TransientStorageError(text, reason=info.reason)

    @staticmethod
    def _check(key: str) -> None:
        try:
            check_key(key)
        except ValueError as exc:
            raise PermanentStorageError(redact(exc), reason="invalid_key") from None

    # -- protocol ------------------------------------------------------------

    def ensure_bucket(self) -> None:
        def run() -> None:
            try:
                if self.client.bucket_exists(self.bucket):
                    return
            except (S3Error, InvalidResponseError) as exc:
                if classify_error(exc).reason == "AccessDenied":
                    return  # credentials that may put but not look at the bucket: let the uploads tell
                raise
            if not self.create_bucket:
                raise PermanentStorageError(f"bucket {self.bucket!r} does not exist and creating it is not allowed")
            try:
                if self.region:
                    self.client.make_bucket(self.bucket, location=self.region)
                else:
                    self.client.make_bucket(self.bucket)
            except S3Error as exc:
                if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise

        self._call(f"ensuring bucket {self.bucket!r}", run)

    def put_file(self, key: str, path: Path, content_type: str, metadata: dict[str, str]) -> None:
        self._check(key)
        size = os.path.getsize(path)

        def run() -> None:
            with open(path, "rb") as fh:
                self.client.put_object(
                    self.bucket, key, fh, size, content_type=content_type, metadata=dict(metadata) or None
                )

        self._call(f"uploading {key!r}", run)

    def get(self, key: str) -> bytes:
        self._check(key)

        def run() -> bytes:
            response = self.client.get_object(self.bucket, key)
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        return self._call(f"reading {key!r}", run)

    def stat(self, key: str) -> StoredObject | None:
        self._check(key)

        def run() -> StoredObject | None:
            try:
                obj = self.client.stat_object(self.bucket, key)
            except S3Error as exc:
                if exc.code in {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}:
                    return None
                raise
            meta: dict[str, str] = {}
            for name, value in (obj.metadata or {}).items():
                lower = str(name).lower()
                if lower.startswith(_META_PREFIX):
                    meta[lower[len(_META_PREFIX) :]] = str(value)
            return StoredObject(
                key=key,
                size=int(obj.size or 0),
                last_modified=obj.last_modified or datetime.now(UTC),
                metadata=meta,
            )

        return self._call(f"stat of {key!r}", run)

    def list_objects(
        self, prefix: str, *, recursive: bool = True, start_after: str | None = None
    ) -> Iterator[StoredObject]:
        iterator = self._call(
            f"listing {prefix!r}",
            lambda: iter(
                self.client.list_objects(
                    self.bucket, prefix=prefix or None, recursive=recursive, start_after=start_after
                )
            ),
        )
        while True:
            obj: Any = self._call(f"listing {prefix!r}", lambda: next(iterator, None))
            if obj is None:
                return
            if obj.is_dir or obj.object_name is None:
                continue
            yield StoredObject(
                key=obj.object_name,
                size=int(obj.size or 0),
                last_modified=obj.last_modified or datetime.now(UTC),
            )

    def list_folders(self, prefix: str) -> list[str]:
        def run() -> list[str]:
            return [
                str(o.object_name)
                for o in self.client.list_objects(self.bucket, prefix=prefix or None, recursive=False)
                if o.is_dir
            ]

        return sorted(self._call(f"listing folders of {prefix!r}", run))

    def remove(self, keys: Iterable[str]) -> list[tuple[str, str]]:
        failures: list[tuple[str, str]] = []
        batch: list[str] = []

        def flush() -> None:
            names = list(batch)
            batch.clear()

            def run() -> list[tuple[str, str]]:
                errors = self.client.remove_objects(self.bucket, [DeleteObject(n) for n in names])
                return [(e.name or "?", redact(f"{e.code}: {e.message}", self._secrets)) for e in errors]

            try:
                failures.extend(self._call(f"removing {len(names)} objects", run))
            except StorageError as exc:
                failures.extend((n, str(exc)) for n in names)

        for key in keys:
            batch.append(key)
            if len(batch) >= _BATCH:
                flush()
        if batch:
            flush()
        return failures

    def copy_to(self, key: str, target: ObjectStore, target_key: str) -> None:
        self._check(key)
        if isinstance(target, MinioStore) and (target.endpoint, target.secure) == (self.endpoint, self.secure):
            target._check(target_key)
            self._call(
                f"copying {key!r} to {target.bucket}/{target_key}",
                lambda: target.client.copy_object(target.bucket, target_key, CopySource(self.bucket, key)),
            )
            return
        found = self.stat(key)
        if found is None:
            raise PermanentStorageError(f"object {key!r} does not exist")
        data = self.get(key)
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        with tempfile.NamedTemporaryFile(prefix="camops-copy-", delete=False) as tmp:
            tmp.write(data)
        try:
            target.put_file(target_key, Path(tmp.name), content_type, found.metadata)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp.name)

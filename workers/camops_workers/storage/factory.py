"""Open the store a ``StorageConfig`` describes: an S3 bucket (minio client) or a local folder."""

from __future__ import annotations

from urllib.parse import urlsplit

from camops_workers.contract import StorageConfig
from camops_workers.storage.base import ObjectStore, PermanentStorageError
from camops_workers.storage.local import LocalStore

__all__ = ["open_store", "split_endpoint"]


def split_endpoint(endpoint: str, secure: bool) -> tuple[str, bool]:
    """``"http://minio:9000"`` -> ``("minio:9000", False)``; a bare ``host:port`` keeps ``secure``."""
    text = endpoint.strip()
    if "://" not in text:
        return text.rstrip("/"), secure
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path not in {"", "/"}:
        raise ValueError(f"invalid storage endpoint {endpoint!r}: expected host:port or http(s)://host:port")
    if parts.username or parts.password:
        raise ValueError("invalid storage endpoint: credentials do not belong in the endpoint URL")
    return parts.netloc, parts.scheme == "https"


def open_store(config: StorageConfig, *, pool_size: int = 10) -> ObjectStore:
    """Build the store; credentials are read from their files/env variables here and kept nowhere else."""
    if config.kind == "local":
        if not config.directory:
            raise PermanentStorageError("storage kind 'local' needs a directory")
        return LocalStore(config.directory, create=config.create_bucket)
    if not config.endpoint:
        raise PermanentStorageError("storage kind 's3' needs an endpoint (host:port)")
    try:
        endpoint, secure = split_endpoint(config.endpoint, config.secure)
    except ValueError as exc:
        raise PermanentStorageError(str(exc)) from None
    access_key = config.access_key.read() if config.access_key else None
    secret_key = config.secret_key.read() if config.secret_key else None
    if bool(access_key) != bool(secret_key):
        raise PermanentStorageError("storage credentials incomplete: both an access key and a secret key are needed")
    # Imported here: the minio client (and urllib3 with it) is ~5 MB per worker process that a
    # local store never needs.
    from camops_workers.storage.s3 import MinioStore

    return MinioStore(
        endpoint,
        config.bucket,
        access_key=access_key or None,
        secret_key=secret_key or None,
        secure=secure,
        region=config.region,
        create_bucket=config.create_bucket,
        pool_size=pool_size,
    )
